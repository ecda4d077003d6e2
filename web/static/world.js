// The shared 2D world: every open tab is an avatar. Presence entries:
// name (string), color (string), x and y (numbers in world units 0..1000).
import * as synk from "./synk.js";

const params = new URLSearchParams(location.search);
const roomName = params.get("room") || "world";
const names = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus", "Radia", "Donald"];
const me = {
  name: params.get("name") || names[Math.floor(Math.random() * names.length)],
  color: `hsl(${Math.floor(Math.random() * 360)} 75% 62%)`,
  x: 200 + Math.random() * 600,
  y: 200 + Math.random() * 600,
};
const others = new Map(); // client → {name, color, x, y, tx, ty}
const crates = new Map(); // object id → {x, y, tx, ty, color, area, version}
// The world is split into four areas; crates are objects that avatars push
// from one area to another.
const areaOf = (x, y) => (y < 500 ? "n" : "s") + (x < 500 ? "w" : "e");
const AREAS = ["nw", "ne", "sw", "se"];
const canvas = document.getElementById("world");
const ctx = canvas.getContext("2d");
const status = (text, state) => {
  document.getElementById("status").textContent = text;
  document.getElementById("dot").className = "dot " + (state || "");
};
window.synkWorld = { me, others, crates, room: null, ready: false };

function putCrate(id, fields, area, version) {
  const c = crates.get(id) || {};
  const fresh = !crates.has(id);
  Object.assign(c, { color: fields.color ?? c.color ?? "#c8a45c", area: area ?? c.area, version: version ?? c.version });
  if (typeof fields.x === "number") c.tx = fields.x;
  if (typeof fields.y === "number") c.ty = fields.y;
  if (fresh) { c.x = c.tx; c.y = c.ty; }
  crates.set(id, c);
}

function reloadCrates(room) {
  crates.clear();
  for (const o of room.objects.list()) putCrate(o.id, o.fields, o.area, o.version);
}

// Crate pushes go out one at a time per crate, always the latest position.
const pushing = new Map(); // id → {x, y} waiting to be sent
async function pushCrate(room, id, x, y) {
  const busy = pushing.has(id);
  pushing.set(id, { x, y });
  if (busy) return;
  while (pushing.get(id)) {
    const p = pushing.get(id);
    pushing.set(id, null);
    try {
      await room.objects.update(id, { x: Math.round(p.x), y: Math.round(p.y) });
      const area = areaOf(p.x, p.y);
      if (crates.get(id)?.area !== area) await room.objects.move(id, area);
    } catch (e) { console.warn("synk:", e.codeName || e.message); }
    await new Promise((r) => setTimeout(r, 50));
  }
  pushing.delete(id);
}

function upsert(client, values) {
  const o = others.get(client) || { name: client, color: "#888", x: 500, y: 500 };
  Object.assign(o, { name: values.name ?? o.name, color: values.color ?? o.color });
  if (typeof values.x === "number") o.tx = values.x;
  if (typeof values.y === "number") o.ty = values.y;
  if (!others.has(client)) { o.x = o.tx ?? o.x; o.y = o.ty ?? o.y; }
  others.set(client, o);
}

function reload(room) {
  others.clear();
  for (const m of room.members()) if (m.client !== room.conn.client) upsert(m.client, m.entries);
}

// Publish at most every 50 ms and one at a time; always the latest position.
let sending = false, dirty = false;
async function publish(room) {
  dirty = true;
  if (sending) return;
  sending = true;
  while (dirty) {
    dirty = false;
    try { await room.presence.set({ x: Math.round(me.x), y: Math.round(me.y) }); }
    catch (e) { console.warn("synk:", e.codeName || e.message); }
    await new Promise((r) => setTimeout(r, 50));
  }
  sending = false;
}

async function main() {
  status("connecting…");
  const room = await synk.join(roomName, { presence: { ...me } });
  window.synkWorld.room = room;
  reload(room);
  room.on("join", (e) => upsert(e.client, e.entries));
  room.on("change", (e) => upsert(e.client, e.entries));
  room.on("leave", (e) => others.delete(e.client));
  room.on("disconnected", () => status("reconnecting…", "off"));
  room.on("reconnected", () => { reload(room); reloadCrates(room); status(`connected as ${room.conn.client}`, "on"); });
  room.on("closed", (e) => status("closed: " + (e.error?.message || ""), "off"));
  room.on("object", (e) => {
    if (e.op === "remove" || e.op === "delete") crates.delete(e.object);
    else if (!pushing.has(e.object)) putCrate(e.object, e.fields, e.area, e.version);
    // (while this page pushes a crate, its own echoes would pull it back)
  });
  await room.objects.subscribe(AREAS);
  reloadCrates(room);
  if (crates.size === 0) { // the first page in an empty world lays out the crates
    const colors = ["#c8a45c", "#5cc8a4", "#a45cc8"];
    await Promise.all([[300, 300], [700, 320], [500, 720]].map(([x, y], i) =>
      room.objects.create(`crate-${i + 1}`, "crate", areaOf(x, y), { x, y, color: colors[i] })
        .catch((e) => { if (e.codeName !== "Exists") throw e; })));
  }
  status(`connected to “${roomName}”`, "on");
  window.synkWorld.ready = true;
  window.synkWorld.readyAt = performance.now(); // ms from navigation start to joined

  const keys = new Set();
  addEventListener("keydown", (e) => { if (e.key.startsWith("Arrow")) { keys.add(e.key); e.preventDefault(); } });
  addEventListener("keyup", (e) => keys.delete(e.key));
  let target = null;
  canvas.addEventListener("pointerdown", (e) => { target = toWorld(e.clientX, e.clientY); });
  canvas.addEventListener("pointermove", (e) => { if (e.buttons) target = toWorld(e.clientX, e.clientY); });

  let last = performance.now();
  function frame(now) {
    const dt = Math.min(0.05, (now - last) / 1000);
    last = now;
    const speed = 320 * dt;
    let moved = false;
    const step = (dx, dy) => { me.x = clamp(me.x + dx); me.y = clamp(me.y + dy); moved = true; target = null; };
    if (keys.has("ArrowLeft")) step(-speed, 0);
    if (keys.has("ArrowRight")) step(speed, 0);
    if (keys.has("ArrowUp")) step(0, -speed);
    if (keys.has("ArrowDown")) step(0, speed);
    if (target) {
      const dx = target.x - me.x, dy = target.y - me.y, d = Math.hypot(dx, dy);
      if (d < speed) { me.x = target.x; me.y = target.y; target = null; }
      else { me.x += (dx / d) * speed; me.y += (dy / d) * speed; }
      moved = true;
    }
    if (moved) {
      publish(room);
      for (const [id, c] of crates) { // push crates out of the way
        const dx = (c.tx ?? c.x) - me.x, dy = (c.ty ?? c.y) - me.y, d = Math.hypot(dx, dy);
        if (d < 40) {
          const k = d < 1 ? 1 : 40 / d;
          const nx = clamp(me.x + (d < 1 ? 40 : dx * k)), ny = clamp(me.y + (d < 1 ? 0 : dy * k));
          c.tx = nx; c.ty = ny;
          pushCrate(room, id, nx, ny);
        }
      }
    }
    for (const o of [...others.values(), ...crates.values()]) { // glide toward the last known position
      const k = 1 - Math.pow(0.001, dt);
      o.x += ((o.tx ?? o.x) - o.x) * k;
      o.y += ((o.ty ?? o.y) - o.y) * k;
    }
    document.getElementById("who").textContent =
      `${me.name} · ${others.size} other${others.size === 1 ? "" : "s"} here`;
    draw();
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
}

const clamp = (v) => Math.max(20, Math.min(980, v));
let scale = 1, ox = 0, oy = 0;
function toWorld(px, py) { return { x: clamp((px - ox) / scale), y: clamp((py - oy) / scale) }; }

function draw() {
  const w = canvas.clientWidth, h = canvas.clientHeight, dpr = devicePixelRatio || 1;
  if (canvas.width !== w * dpr || canvas.height !== h * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
  scale = Math.min(w, h) / 1000; ox = (w - 1000 * scale) / 2; oy = (h - 1000 * scale) / 2;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#0f1320"; ctx.fillRect(0, 0, w, h);
  ctx.save(); ctx.translate(ox, oy); ctx.scale(scale, scale);
  ctx.fillStyle = "#131a2c"; ctx.fillRect(0, 0, 1000, 1000);
  ctx.strokeStyle = "#1d2540"; ctx.lineWidth = 1;
  for (let i = 0; i <= 1000; i += 50) {
    ctx.beginPath(); ctx.moveTo(i, 0); ctx.lineTo(i, 1000); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(0, i); ctx.lineTo(1000, i); ctx.stroke();
  }
  ctx.strokeStyle = "#2a3558"; ctx.lineWidth = 2; ctx.setLineDash([8, 8]);
  ctx.beginPath(); ctx.moveTo(500, 0); ctx.lineTo(500, 1000); ctx.moveTo(0, 500); ctx.lineTo(1000, 500); ctx.stroke();
  ctx.setLineDash([]);
  for (const c of crates.values()) crate(c);
  for (const o of others.values()) avatar(o, false);
  avatar(me, true);
  ctx.restore();
}

function crate(c) {
  ctx.fillStyle = "rgba(0,0,0,.35)"; ctx.fillRect(c.x - 16, c.y - 12, 32, 32);
  ctx.fillStyle = c.color; ctx.fillRect(c.x - 16, c.y - 16, 32, 32);
  ctx.strokeStyle = "rgba(0,0,0,.35)"; ctx.lineWidth = 2; ctx.strokeRect(c.x - 16, c.y - 16, 32, 32);
  ctx.beginPath(); ctx.moveTo(c.x - 16, c.y - 16); ctx.lineTo(c.x + 16, c.y + 16); ctx.moveTo(c.x + 16, c.y - 16); ctx.lineTo(c.x - 16, c.y + 16); ctx.stroke();
}

function avatar(a, mine) {
  ctx.beginPath(); ctx.arc(a.x, a.y + 4, 20, 0, Math.PI * 2); ctx.fillStyle = "rgba(0,0,0,.35)"; ctx.fill();
  ctx.beginPath(); ctx.arc(a.x, a.y, 18, 0, Math.PI * 2); ctx.fillStyle = a.color; ctx.fill();
  if (mine) { ctx.lineWidth = 3; ctx.strokeStyle = "#fff"; ctx.stroke(); }
  ctx.font = "600 15px system-ui, sans-serif"; ctx.textAlign = "center";
  ctx.fillStyle = "#e8ecf8"; ctx.fillText(a.name + (mine ? " (you)" : ""), a.x, a.y - 28);
}

// explain words an error for a person: its code name and what it says.
const explain = (e) => (e.codeName ? e.codeName + ": " : "") + e.message.replace(/^.*?synk: \w+ \(\d+\)(?: in room \S+)?: /, "");

main().catch((e) => { status("error: " + explain(e), "off"); console.error(e); });
