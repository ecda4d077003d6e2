// The /three example: synk.js with three.js, no framework between them.
// Avatars come from presence (each page publishes x and z), eased towards
// their last known place every frame; cubes are Synk objects whose area is
// the 10 m cell they stand in, and a page subscribes to the 3×3 cells
// around it, so it receives only the cubes near it. ?room= picks the room.
import * as THREE from "three";
import * as synk from "./synk.js";

const roomName = new URLSearchParams(location.search).get("room") || "three";
const cell = 10; // metres per area
const areaOf = (x, z) => `c${Math.floor(x / cell)}_${Math.floor(z / cell)}`;
const around = (x, z) => {
  const [i, j] = [Math.floor(x / cell), Math.floor(z / cell)];
  const out = [];
  for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) out.push(`c${i + di}_${j + dj}`);
  return out;
};
const status = (text, state) => {
  document.getElementById("status").textContent = text;
  document.getElementById("dot").className = "dot " + (state || "");
};

const canvas = document.getElementById("three");
const renderer = new THREE.WebGLRenderer({ canvas, antialias: true });
const scene = new THREE.Scene();
scene.background = new THREE.Color(0x88bbdd);
const camera = new THREE.PerspectiveCamera(60, 1, 0.1, 200);
scene.add(new THREE.HemisphereLight(0xffffff, 0x446644, 1.2));
const sun = new THREE.DirectionalLight(0xffffff, 1.2);
sun.position.set(5, 10, 4);
scene.add(sun);
const ground = new THREE.Mesh(new THREE.PlaneGeometry(200, 200), new THREE.MeshLambertMaterial({ color: 0x44aa77 }));
ground.rotation.x = -Math.PI / 2;
scene.add(ground, new THREE.GridHelper(200, 20, 0x225533, 0x225533));

const me = { x: (Math.random() - 0.5) * 8, z: (Math.random() - 0.5) * 8, color: `hsl(${Math.floor(Math.random() * 360)}, 70%, 60%)` };
const avatar = (color) => {
  const m = new THREE.Mesh(new THREE.SphereGeometry(0.4, 24, 16), new THREE.MeshLambertMaterial({ color: new THREE.Color(color) }));
  m.position.y = 0.4;
  scene.add(m);
  return m;
};
const mine = avatar(me.color);
const others = new Map(); // client → {mesh, x, z}: the mesh eases towards x, z
const cubes = new Map(); // object id → mesh

function upsert(client, e) {
  if (client === room.conn.client) return;
  let o = others.get(client);
  if (!o) {
    o = { mesh: avatar(typeof e.color === "string" ? e.color : "#ccc"), x: 0, z: 0 };
    others.set(client, o);
    if (typeof e.x === "number") o.mesh.position.x = e.x;
    if (typeof e.z === "number") o.mesh.position.z = e.z;
  }
  if (typeof e.x === "number") o.x = e.x;
  if (typeof e.z === "number") o.z = e.z;
}
function drop(client) {
  const o = others.get(client);
  if (o) scene.remove(o.mesh);
  others.delete(client);
}
function putCube(id, fields) {
  let c = cubes.get(id);
  if (!c) {
    c = new THREE.Mesh(new THREE.BoxGeometry(1, 1, 1), new THREE.MeshLambertMaterial({ color: 0xc8a45c }));
    c.position.y = 0.5;
    c.userData.id = id;
    scene.add(c);
    cubes.set(id, c);
  }
  if (typeof fields.x === "number") c.position.x = fields.x;
  if (typeof fields.z === "number") c.position.z = fields.z;
}
function dropCube(id) {
  const c = cubes.get(id);
  if (c) scene.remove(c);
  cubes.delete(id);
}
function reload() {
  for (const client of [...others.keys()]) drop(client);
  for (const m of room.members()) upsert(m.client, m.entries);
  for (const id of [...cubes.keys()]) dropCube(id);
  for (const o of room.objects.list()) putCube(o.id, o.fields);
}

status("joining…");
const room = await synk.join(roomName, { presence: { x: me.x, z: me.z, color: me.color } });
room.on("join", (e) => upsert(e.client, e.entries));
room.on("change", (e) => upsert(e.client, e.entries));
room.on("leave", (e) => drop(e.client));
room.on("object", (e) => (e.op === "remove" || e.op === "delete" ? dropCube(e.object) : putCube(e.object, e.fields)));
room.on("disconnected", () => status("reconnecting…", "off"));
room.on("reconnected", () => { reload(); status(`connected to “${roomName}”`, "on"); });
let areas = around(me.x, me.z);
await room.objects.subscribe(areas);
reload();
if (room.objects.list().length === 0) { // the first page lays out a few cubes
  await Promise.all([[-3, -3], [3, -2], [0, 4], [12, 0], [-14, 6]].map(([x, z], i) =>
    room.objects.create(`cube-${i + 1}`, "cube", areaOf(x, z), { x, z }).catch((e) => { if (e.codeName !== "Exists") throw e; })));
}
status(`connected to “${roomName}”`, "on");

// Moving: keys, then presence at most every 100 ms, and the areas when
// this page enters another cell.
const keys = new Set();
addEventListener("keydown", (e) => keys.add(e.key.toLowerCase()));
addEventListener("keyup", (e) => keys.delete(e.key.toLowerCase()));
let lastSent = 0, dirty = false;
async function moveTo(x, z) {
  me.x = x;
  me.z = z;
  dirty = true;
  const next = around(x, z);
  if (next.join() !== areas.join()) {
    const add = next.filter((a) => !areas.includes(a)), remove = areas.filter((a) => !next.includes(a));
    areas = next;
    await room.objects.subscribe(add, remove);
  }
}

// A click on a cube pushes it a metre away from this page's avatar.
const ray = new THREE.Raycaster();
canvas.addEventListener("click", (e) => {
  const r = canvas.getBoundingClientRect();
  ray.setFromCamera(new THREE.Vector2(((e.clientX - r.left) / r.width) * 2 - 1, -((e.clientY - r.top) / r.height) * 2 + 1), camera);
  const hit = ray.intersectObjects([...cubes.values()])[0];
  if (hit) pushCube(hit.object.userData.id);
});
async function pushCube(id) {
  const o = room.objects.get(id);
  if (!o) return;
  const dx = o.fields.x - me.x, dz = o.fields.z - me.z, d = Math.hypot(dx, dz) || 1;
  const x = o.fields.x + dx / d, z = o.fields.z + dz / d;
  await room.objects.update(id, { x, z });
  if (areaOf(x, z) !== o.area) await room.objects.move(id, areaOf(x, z));
}

let last = performance.now();
function frame(now) {
  const dt = Math.min(0.1, (now - last) / 1000);
  last = now;
  const speed = 4 * dt;
  let [x, z] = [me.x, me.z];
  if (keys.has("w") || keys.has("arrowup")) z -= speed;
  if (keys.has("s") || keys.has("arrowdown")) z += speed;
  if (keys.has("a") || keys.has("arrowleft")) x -= speed;
  if (keys.has("d") || keys.has("arrowright")) x += speed;
  if (x !== me.x || z !== me.z) moveTo(x, z);
  if (dirty && now - lastSent > 100) {
    dirty = false;
    lastSent = now;
    room.presence.set({ x: me.x, z: me.z }).catch(() => { dirty = true; });
  }
  mine.position.set(me.x, 0.4, me.z);
  const ease = 1 - Math.exp(-dt * 10); // interpolation of remote poses
  for (const o of others.values()) {
    o.mesh.position.x += (o.x - o.mesh.position.x) * ease;
    o.mesh.position.z += (o.z - o.mesh.position.z) * ease;
  }
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== w || canvas.height !== h) {
    renderer.setSize(w, h, false);
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
  }
  camera.position.set(me.x, 7, me.z + 9);
  camera.lookAt(me.x, 0, me.z);
  renderer.render(scene, camera);
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

window.synkThree = { room, me, others, cubes, moveTo, pushCube, areas: () => areas, ready: true };
