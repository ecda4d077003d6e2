// synk-worker.js — the dedicated Web Worker in which synk.js runs the Go
// client (synk.wasm, with wasm_exec.js from the same Go toolchain), so
// that neither its work nor Go's garbage collector takes time from the
// page's frames. synk.js starts it; pages do not talk to it.
//
// Messages, page → worker:
//   {i, f, a}       call f (a function of the wasm bridge, wasm/main_js.go)
//                   with the arguments a; entries travel as msgpack bytes
//   {f: "abort", i} abort call i (a meet the page withdrew)
// worker → page:
//   {ready: true} or {boot: error}  once, when the client is loaded or not
//   {exited: code}  the Go program stopped (a panic): nothing answers now
//   {i, r, p} / {i, e, p}  call i's result or error; p, after a write, the
//                   room's pending writes as msgpack
//   {c, b}          events of the connection that call c dialled: a list of
//                   msgpack batches (internal/bridge), their buffers
//                   transferred. With deliver "message", once the worker
//                   has no websocket message waiting: every message's
//                   events that came since the last hand-off (one message's
//                   when the worker keeps up); with deliver "frame", at
//                   most once per animation frame

const here = new URL(".", import.meta.url);
// The server rewrites these two lines to name the client's files by a hash
// of their content, which browsers may cache for good (web/web.go).
const wasmFile = "synk.wasm";
const execFile = "wasm_exec.js";
let api = null;
// The Go client's websocket listener (client/transport_js.go): the
// message's bytes cross into Go once, not its event object.
globalThis.__synkBytesOf = (f) => (e) => f(typeof e.data === "string" ? null : new Uint8Array(e.data));
const aborts = new Map(); // call id → AbortController of a meet
// dial call id → {frame, batches, scheduled}; kept after a close, so
// that the connection's last events (its "closed") still reach the page.
const queues = new Map();

async function boot() {
  const src = await fetch(new URL(wasmFile, here));
  if (!src.ok) throw await httpError(src);
  if (!globalThis.Go) await import(new URL(execFile, here).href);
  const go = new globalThis.Go();
  let exitCode = -1;
  const exit = go.exit;
  go.exit = (code) => { exitCode = code; exit(code); };
  const ready = new Promise((resolve) => { globalThis.__synkReady = resolve; });
  let result;
  try {
    result = await WebAssembly.instantiateStreaming(src, go.importObject);
  } catch { // a server without application/wasm
    const bytes = await (await fetch(new URL(wasmFile, here))).arrayBuffer();
    result = await WebAssembly.instantiate(bytes, go.importObject);
  }
  // go.run resolves only when the program exits, which main never does
  // unless it panics: then the page must know.
  go.run(result.instance).then(() => self.postMessage({ exited: exitCode }));
  await ready;
  api = globalThis.__synk;
}

// httpError describes a failed fetch of the client as the protocol's
// errors are: the server's JSON error when it sent one (a binary built
// without the browser client says so), else the HTTP status.
async function httpError(resp) {
  let e = { code: 0, name: "", message: `synk.wasm: HTTP ${resp.status}` };
  try { e = { ...e, ...(await resp.json()).error }; } catch { /* not JSON */ }
  return { message: e.message, code: e.code, codeName: e.name || undefined };
}

// plain turns what a call threw into what postMessage can carry.
function plain(e) {
  if (e && typeof e === "object" && "message" in e) {
    const out = { message: String(e.message), code: typeof e.code === "number" ? e.code : 0 };
    if (e.codeName) out.codeName = e.codeName;
    if (e.pending) out.pending = true;
    return out;
  }
  return { message: String(e), code: 0 };
}

// batch queues one event batch of connection c (a Uint8Array from Go).
// The queue goes to the page in a task of its own (a timer of 0 ms runs
// after the websocket messages already waiting, so a backlog goes in one
// hand-off, and at once when there is none), or on the next animation
// frame. Handing over at the end of each websocket message's task instead
// cost the page ten times the delay at 3,000 events/s (bench-browser).
// A hidden page gets no animation frames: its events still go within
// frameWait, and a queue of maxQueued bytes goes at once, so that a tab
// left in the background does not gather them without bound.
const frameWait = 250; // ms
const maxQueued = 1 << 20; // bytes
function batch(c, b) {
  const q = queues.get(c);
  if (!q) return;
  q.batches.push(b);
  q.bytes += b.length;
  if (q.bytes >= maxQueued) { flush(c, q); return; }
  if (q.scheduled) return;
  q.scheduled = true;
  const go = () => flush(c, q);
  if (!q.frame) { q.timer = setTimeout(go, 0); return; }
  if (typeof self.requestAnimationFrame === "function") q.frameID = self.requestAnimationFrame(go);
  q.timer = setTimeout(go, q.frameID === undefined ? 16 : frameWait);
}

function flush(c, q) {
  if (q.frameID !== undefined) self.cancelAnimationFrame(q.frameID);
  clearTimeout(q.timer);
  q.frameID = q.timer = undefined;
  q.scheduled = false;
  const bs = q.batches;
  if (bs.length === 0) return;
  q.batches = [];
  q.bytes = 0;
  self.postMessage({ c, b: bs }, { transfer: bs.map((x) => x.buffer) });
}

async function call(i, f, a) {
  if (!api) throw new Error("synk worker: the client is not loaded");
  switch (f) {
    case "dial": {
      const [urls, opts] = a;
      queues.set(i, { frame: opts.deliver === "frame", batches: [], bytes: 0, scheduled: false });
      try {
        return await api.dial(urls, opts, (b) => batch(i, b));
      } catch (e) {
        queues.delete(i);
        throw e;
      }
    }
    case "meet": {
      const ac = new AbortController();
      aborts.set(i, ac);
      try {
        return await api.meet(a[0], a[1], a[2], ac.signal);
      } finally {
        aborts.delete(i);
      }
    }
    case "join": case "set": case "del": case "leave": case "subscribe": case "write": case "close":
      return api[f](...a);
  }
  throw new Error(`synk worker: no call ${f}`);
}

self.onmessage = async ({ data: m }) => {
  if (m.f === "abort") { aborts.get(m.i)?.abort(); return; }
  const out = { i: m.i };
  try {
    out.r = await call(m.i, m.f, m.a);
  } catch (e) {
    out.e = plain(e);
  }
  if (m.f === "write") {
    const p = api.pending(m.a[0]);
    if (p instanceof Uint8Array) out.p = p;
  }
  const transfer = [];
  for (const v of [out.r?.state, out.p]) if (v instanceof Uint8Array) transfer.push(v.buffer);
  try {
    self.postMessage(out, { transfer });
  } catch (e) { // a result that cannot be cloned: the call must still end
    self.postMessage({ i: m.i, e: plain(e) });
  }
};

boot().then(() => self.postMessage({ ready: true }), (e) => self.postMessage({ boot: plain(e) }));
