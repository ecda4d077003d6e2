// Lists rooms and their members live, read-only: polls GET /synk for the
// room list and joins each room as an observer for live changes.
import * as synk from "./synk.js";

const joined = new Map(); // name → Room
const root = document.getElementById("rooms");
window.synkObserver = { joined };
const setStatus = (t, s) => {
  document.getElementById("status").textContent = t;
  document.getElementById("dot").className = "dot " + (s || "");
};

// fmt shows a value for reading: numbers to 3 decimals, typed arrays
// (a Float32Array pose) as their numbers, bytes as a count, and at most
// 80 characters.
function fmt(v) {
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  const s = JSON.stringify(v, (_, x) => {
    if (typeof x === "number" && !Number.isInteger(x)) return Number(x.toFixed(3));
    if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return Array.from(x, Number);
    return x;
  });
  return s.length > 80 ? s.slice(0, 77) + "…" : s;
}

// byKey orders entries by key, so that a member's entries keep their place
// whatever order its changes came in.
const byKey = ([a], [b]) => (a < b ? -1 : a > b ? 1 : 0);

// A device of folder sync says how its folder stands under "folder"
// (docs/FOLDER.md, "Status"): shown as a sentence, not as raw entries.
const isFolderStatus = (v) => v !== null && typeof v === "object" && typeof v.state === "string" && "files" in v;

function folderLine(s) {
  const mb = (n) => n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;
  const ago = Math.max(0, Math.round((Date.now() - Number(s.at)) / 1000));
  let line = `folder ${s.state} · ${s.files}/${s.total} files`;
  if (Number(s.left) > 0) line += ` · ${mb(Number(s.left))} left`;
  if (s.failed > 0) line += ` · ${s.failed} failing: ${s.error || ""}`;
  return line + ` · ${ago} s ago`;
}

function render() {
  root.replaceChildren();
  if (joined.size === 0) {
    const p = document.createElement("p");
    p.className = "empty"; p.textContent = "No rooms yet. Open the world in another tab.";
    root.append(p);
  }
  for (const [name, room] of [...joined].sort()) {
    const members = room.members();
    const card = document.createElement("section");
    card.className = "room"; card.dataset.room = name;
    const h = document.createElement("h2");
    h.textContent = name;
    const n = document.createElement("small");
    n.textContent = `${members.length} member${members.length === 1 ? "" : "s"}`;
    h.append(n); card.append(h);
    for (const m of members) {
      const div = document.createElement("div");
      div.className = "member"; div.dataset.client = m.client;
      const b = document.createElement("b"); b.textContent = m.client;
      const { folder, ...rest } = m.entries;
      const code = document.createElement("code");
      const entries = isFolderStatus(folder) ? rest : m.entries;
      code.textContent = Object.entries(entries).sort(byKey).map(([k, v]) => `${k}=${fmt(v)}`).join("  ");
      div.append(b, code);
      if (isFolderStatus(folder)) {
        const s = document.createElement("span");
        s.className = "folder " + folder.state;
        s.textContent = folderLine(folder);
        div.append(s);
      }
      card.append(div);
    }
    root.append(card);
  }
}

let pending = false;
const later = () => { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; render(); }); } };

async function refresh() {
  const res = await fetch("/synk");
  const rooms = (await res.json()).map((r) => r.room);
  for (const name of rooms) {
    if (joined.has(name)) continue;
    const room = await synk.join(name, { observer: true });
    joined.set(name, room);
    for (const kind of ["join", "change", "leave", "reconnected"]) room.on(kind, later);
    room.on("closed", () => { joined.delete(name); later(); });
  }
  for (const [name, room] of joined) {
    if (!rooms.includes(name) && room.members().length === 0) { joined.delete(name); room.close(); }
  }
  later();
}

async function main() {
  await synk.load();
  setStatus("watching", "on");
  for (;;) {
    try { await refresh(); setStatus("watching", "on"); }
    catch (e) { setStatus("error: " + explain(e), "off"); }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// explain words an error for a person: its code name and what it says.
const explain = (e) => (e.codeName ? e.codeName + ": " : "") + e.message.replace(/^.*?synk: \w+ \(\d+\)(?: in room \S+)?: /, "");

main().catch((e) => { setStatus("error: " + explain(e), "off"); console.error(e); });
