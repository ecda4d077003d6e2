// synk-worker.js — the dedicated Web Worker in which synk.js runs the Go
// client (synk.wasm, with wasm_exec.js from the same Go toolchain), so
// that neither its work nor Go's garbage collector takes time from the
// page's frames. synk.js starts it; pages do not talk to it.
//
// Messages, page → worker:
//   {wasm}          first, synk.wasm as a WebAssembly.Module that the page
//                   compiled while the worker started, or null: then the
//                   worker fetches and compiles it itself
//   {i, f, a}       call f (a function of the wasm bridge, wasm/main_js.go)
//                   with the arguments a; entries travel as msgpack bytes
//   {f: "abort", i} abort call i (a meet the page withdrew)
// worker → page:
//   {ready: true} or {boot: error}  once, when the client is loaded or not
//   {exited: code}  the Go program stopped (a panic): nothing answers now
//   {i, r, p} / {i, e, p}  call i's result or error; p, after a write, the
//                   room's pending writes as msgpack
//   {c, b[, end]}   events of the connection that call c dialled: a list of
//                   msgpack batches (internal/bridge), their buffers
//                   transferred. With deliver "message", once the worker
//                   has no websocket message waiting: every message's
//                   events that came since the last hand-off (one message's
//                   when the worker keeps up); with deliver "frame", at
//                   most once per animation frame. end: true comes with
//                   the connection's last events (it is closed for good)

const here = new URL(".", import.meta.url);
// The server rewrites these two lines to name the client's files by a hash
// of their content, which browsers may cache for good (web/web.go).
const wasmFile = "synk.wasm";
const execFile = "wasm_exec.js";
let api = null;
// The Go client's websocket listener (client/transport_js.go). Messages
// wait here and cross into Go together, in a task of their own that runs
// after the messages already waiting (or at once past 1 MiB): one crossing,
// one copy and one wake of the Go reader per batch, not per message. The
// batch is each message's length (4 bytes, big-endian; 0xffffffff for a
// text message, which Go refuses) then its bytes. A "close" listener added
// here, before Go's, hands over what is left first, so no message is lost
// behind the close. It returns the function that removes both listeners.
const batchMax = 1 << 20;
globalThis.__synkListen = (ws, f) => {
  let msgs = [], bytes = 0, timer = null;
  const deliver = () => {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    if (msgs.length === 0) return;
    const out = new Uint8Array(bytes + 4 * msgs.length);
    const view = new DataView(out.buffer);
    let at = 0;
    for (const m of msgs) {
      if (m === null) { view.setUint32(at, 0xffffffff); at += 4; continue; }
      view.setUint32(at, m.length); out.set(m, at + 4); at += 4 + m.length;
    }
    msgs = []; bytes = 0;
    f(out);
    // Go has handled the batch before f returns: the events it made go to
    // the page now, without a task of their own.
    for (const [c, q] of queues) if (!q.frame && q.scheduled) flush(c, q);
  };
  const onMessage = (e) => {
    const m = typeof e.data === "string" ? null : new Uint8Array(e.data);
    msgs.push(m);
    bytes += m === null ? 0 : m.length;
    if (bytes >= batchMax) deliver();
    else if (timer === null) timer = setTimeout(deliver, 0);
  };
  ws.addEventListener("message", onMessage);
  ws.addEventListener("close", deliver);
  return () => {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    msgs = []; bytes = 0;
    ws.removeEventListener("message", onMessage);
    ws.removeEventListener("close", deliver);
  };
};
const aborts = new Map(); // call id → AbortController of a meet
// dial call id → {frame, batches, scheduled}, until the connection's last
// events went to the page (end).
const queues = new Map();

// The page's first message: the client compiled, or null.
let fromPage;
const compiled = new Promise((resolve) => { fromPage = resolve; });

async function boot() {
  const exec = globalThis.Go ? Promise.resolve() : import(new URL(execFile, here).href);
  exec.catch(() => {}); // awaited below, after the client's own error if any
  const wasm = await client();
  await exec;
  const go = new globalThis.Go();
  let exitCode = -1;
  const exit = go.exit;
  go.exit = (code) => { exitCode = code; exit(code); };
  const ready = new Promise((resolve) => { globalThis.__synkReady = resolve; });
  const instance = await instantiate(wasm, go.importObject);
  // Go's collector stops this thread while it marks, and every event
  // waiting behind it is late: at 100 avatars × 60 Hz, GOGC 400 instead of
  // 100 took the publish → handler delay p95 from 48 ms to 18–22 ms
  // (bench-browser, 3 runs each). The heap may grow to five times what is
  // live: a few MB for such a room.
  go.env = { ...go.env, GOGC: "400" };
  // go.run resolves only when the program exits, which main never does
  // unless it panics: then the page must know.
  go.run(instance).then(() => self.postMessage({ exited: exitCode }));
  await ready;
  api = globalThis.__synk;
}

// client resolves to the client the page compiled ({module}) or else to
// the response of the worker's own fetch ({src}); a server without the
// client answers with an error, thrown as the protocol's errors are.
async function client() {
  const module = await compiled;
  if (module) return { module };
  const src = await fetch(new URL(wasmFile, here));
  if (!src.ok) throw await httpError(src);
  return { src };
}

/**
 * Instantiates what client resolved to.
 * @param {{module?: WebAssembly.Module, src?: Response}} c
 * @param {WebAssembly.Imports} imports
 * @returns {Promise<WebAssembly.Instance>}
 */
async function instantiate({ module, src }, imports) {
  if (module) return WebAssembly.instantiate(module, imports);
  try {
    return (await WebAssembly.instantiateStreaming(src, imports)).instance;
  } catch { // a server without application/wasm
    const bytes = await (await fetch(new URL(wasmFile, here))).arrayBuffer();
    return (await WebAssembly.instantiate(bytes, imports)).instance;
  }
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
// With deliver "message" the queue goes to the page once Go has handled
// the websocket messages that came together (__synkListen), or, for
// events of Go's own (timers, answers), in a task of its own (a timer of
// 0 ms). Handing over after each websocket message while more waited
// cost the page ten times the delay at 3,000 events/s (bench-browser).
// With deliver "frame" it goes on the next animation frame.
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

function flush(c, q, last = false) {
  if (q.frameID !== undefined) self.cancelAnimationFrame(q.frameID);
  clearTimeout(q.timer);
  q.frameID = q.timer = undefined;
  q.scheduled = false;
  const bs = q.batches;
  if (bs.length === 0 && !last) return;
  q.batches = [];
  q.bytes = 0;
  self.postMessage(last ? { c, b: bs, end: true } : { c, b: bs }, { transfer: bs.map((x) => x.buffer) });
}

// end sends what connection c has queued, its last events, at once, and
// forgets it: the page does too (end: true).
function end(c) {
  const q = queues.get(c);
  if (!q) return;
  queues.delete(c);
  flush(c, q, true);
}

async function call(i, f, a) {
  if (!api) throw new Error("synk worker: the client is not loaded");
  switch (f) {
    case "dial": {
      const [urls, opts] = a;
      queues.set(i, { frame: opts.deliver === "frame", batches: [], bytes: 0, scheduled: false });
      try {
        return await api.dial(urls, opts, (buf, n) => (buf === null ? end(i) : batch(i, buf.slice(0, n))));
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
    case "join": case "set": case "del": case "send": case "leave": case "subscribe": case "write": case "close":
      return api[f](...a);
  }
  throw new Error(`synk worker: no call ${f}`);
}

self.onmessage = async ({ data: m }) => {
  if ("wasm" in m) { fromPage(m.wasm); return; }
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
