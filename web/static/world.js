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
const canvas = document.getElementById("world");
const ctx = canvas.getContext("2d");
const status = (text, state) => {
  document.getElementById("status").textContent = text;
  document.getElementById("dot").className = "dot " + (state || "");
};
window.synkWorld = { me, others, room: null, ready: false };

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
  for (const m of room.members()) if (m.client !== room.conn.client) upsert(m.client, m.values);
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
  room.on("join", (e) => upsert(e.client, e.values));
  room.on("change", (e) => upsert(e.client, e.values));
  room.on("leave", (e) => others.delete(e.client));
  room.on("disconnected", () => status("reconnecting…", "off"));
  room.on("reconnected", () => { reload(room); status(`connected as ${room.conn.client}`, "on"); });
  room.on("closed", (e) => status("closed: " + (e.error?.message || ""), "off"));
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
    if (moved) publish(room);
    for (const o of others.values()) { // glide toward the last known position
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
  for (const o of others.values()) avatar(o, false);
  avatar(me, true);
  ctx.restore();
}

function avatar(a, mine) {
  ctx.beginPath(); ctx.arc(a.x, a.y + 4, 20, 0, Math.PI * 2); ctx.fillStyle = "rgba(0,0,0,.35)"; ctx.fill();
  ctx.beginPath(); ctx.arc(a.x, a.y, 18, 0, Math.PI * 2); ctx.fillStyle = a.color; ctx.fill();
  if (mine) { ctx.lineWidth = 3; ctx.strokeStyle = "#fff"; ctx.stroke(); }
  ctx.font = "600 15px system-ui, sans-serif"; ctx.textAlign = "center";
  ctx.fillStyle = "#e8ecf8"; ctx.fillText(a.name + (mine ? " (you)" : ""), a.x, a.y - 28);
}

main().catch((e) => { status("error: " + (e.codeName || e.message), "off"); console.error(e); });
