// The /vr demo: a Networked-A-Frame scene on the synk adapter (synk-naf.js).
// ?room= picks the room (default "vr"). Every page is an avatar whose head
// takes a colour from its client id; a click on a crate takes it over and
// nudges it, and every page sees it move.
const room = new URLSearchParams(location.search).get("room") || "vr";
const scene = document.querySelector("a-scene");
// Before A-Frame initialises the scene (it waits for the document to be
// complete), as the DOM attribute it will read.
HTMLElement.prototype.setAttribute.call(scene, "networked-scene", `adapter: synk; room: ${room}; serverURL: /`);
// Each page starts somewhere on a circle around the crates, facing them.
const a = Math.random() * 2 * Math.PI;
const me = document.getElementById("me");
HTMLElement.prototype.setAttribute.call(me, "position", `${(3 * Math.sin(a)).toFixed(2)} 0 ${(-1.3 + 3 * Math.cos(a)).toFixed(2)}`);
HTMLElement.prototype.setAttribute.call(me, "rotation", `0 ${(a * 180 / Math.PI).toFixed(1)} 0`);

// The crates' and avatars' schema: position and rotation (NAF's default).
NAF.schemas.add({ template: "#crate-template", components: ["position", "rotation"] });

const colorOf = (id) => {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360}, 70%, 60%)`; // (three.js reads the comma form)
};

// Another page's avatar appears: colour its head by its owner.
// (NAF attaches the template's children after the event: wait for them.)
document.body.addEventListener("entityCreated", (e) => {
  const el = e.detail.el;
  const paint = (tries) => {
    const head = el.querySelector(".head");
    if (head) head.setAttribute("color", colorOf(NAF.utils.getNetworkOwner(el) || ""));
    else if (tries > 0) requestAnimationFrame(() => paint(tries - 1));
  };
  paint(60);
});

// A click on a crate: take it over, then move it half a metre.
scene.addEventListener("click", (e) => {
  const crate = e.target.closest("[networked]");
  if (!crate || !crate.id.startsWith("crate-")) return;
  if (!NAF.utils.isMine(crate) && !NAF.utils.takeOwnership(crate)) return;
  const p = crate.getAttribute("position");
  crate.setAttribute("position", { x: p.x + (Math.random() - 0.5), y: p.y, z: p.z + (Math.random() - 0.5) });
});

window.synkVR = { room, colorOf };
