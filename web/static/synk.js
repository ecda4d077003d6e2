// synk.js — the Synk browser client. Runs the Go client compiled to
// WebAssembly (synk.wasm, with wasm_exec.js from the same Go toolchain) in
// a Web Worker (synk-worker.js), so that it takes no time from the page's
// frames, and gives it a small promise-and-events API:
//
//   import * as synk from "https://your-synk-server/synk.js";
//   const room = await synk.join("lobby", { presence: { name: "ada" } });
//   room.on("join", (m) => console.log(m.client, "joined", m.entries));
//   await room.presence.set({ x: 1, y: 2 });
//   room.close();
//
// Events cross from the worker in batches (a websocket message's events,
// or an animation frame's with deliver "frame"), as msgpack that
// synk-codec.js decodes once. Each room keeps a copy of its members,
// objects and pending writes from them, so that members() and
// objects.list() answer at once.
//
// Types: synk.d.ts beside this file.

import { encode, decode } from "./synk-codec.js";

const here = new URL(".", import.meta.url);
// Where synk-worker.js, synk.wasm and wasm_exec.js are: beside this
// module, unless load was given a base (a bundle, whose import.meta.url is
// the bundle's).
let base = here;
// The server rewrites this line to name the client by a hash of its
// content, as in synk-worker.js (web/web.go).
const wasmFile = "synk.wasm";
let loading = null;

/**
 * Starts the client's worker (synk-worker.js) and loads the wasm client
 * in it, once; every other call awaits it. Resolves to the link to the
 * worker, which pages need not use. opts.base is the URL of the folder
 * that holds synk-worker.js, synk.wasm and wasm_exec.js, for a page that
 * bundled synk.js; it counts only on the call that starts the worker.
 * @param {{base?: string | URL}} [opts]
 */
export function load(opts = {}) {
  if (!loading) {
    if (opts.base !== undefined) base = new URL(String(opts.base).replace(/\/?$/, "/"), location.href);
    loading = boot().catch((e) => { loading = null; throw e; });
  }
  return loading;
}

async function boot() {
  // The preload snippet (README) may have started the worker and the
  // compile already, at the top of the page's <head>: take them over.
  const pre = globalThis.synkPreload;
  globalThis.synkPreload = undefined;
  if (pre?.worker instanceof Worker && !pre.failed && base === here) {
    const link = new Link(pre.worker, Promise.resolve(pre.wasm).catch(() => null));
    await link.ready;
    return link;
  }
  const url = new URL("synk-worker.js", base);
  let src = url.href;
  if (url.origin !== globalThis.location?.origin) {
    // A worker must come from the page's origin: a page embedding synk.js
    // from a Synk server starts one that imports the server's script
    // (allowed across origins like synk.js itself).
    src = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};`], { type: "text/javascript" }));
  }
  // The page compiles the client while the worker starts, and hands the
  // module over: compilation runs on the browser's background threads,
  // and the worker need not wait for its own start to begin it. Where
  // that fails (no application/wasm, an HTTP error) the worker fetches
  // and compiles the client itself, and says why it could not.
  const compiled = compile();
  const link = new Link(new Worker(src, { type: "module", name: "synk" }), compiled);
  try {
    await link.ready;
  } finally {
    if (src !== url.href) URL.revokeObjectURL(src);
  }
  return link;
}

// compile resolves to synk.wasm compiled, or null where it cannot be.
function compile() {
  if (typeof WebAssembly.compileStreaming !== "function") return Promise.resolve(null);
  return WebAssembly.compileStreaming(fetch(new URL(wasmFile, base))).catch(() => null);
}

// Link is synk.js's end of the worker: calls with promises, and event
// batches routed to the connection whose dial asked for them.
class Link {
  #worker;
  #next = 1;
  #calls = new Map(); // call id → {resolve}
  #events = new Map(); // dial call id → function(events)
  #stopped = null; // the error of every call once the Go program has stopped

  /**
   * @param {Worker} worker
   * @param {Promise<WebAssembly.Module | null>} compiled the client, sent to the worker once compiled
   */
  constructor(worker, compiled) {
    this.#worker = worker;
    compiled.then((wasm) => {
      try {
        worker.postMessage({ wasm });
      } catch { // a module that cannot cross: the worker compiles its own
        worker.postMessage({ wasm: null });
      }
    });
    this.ready = new Promise((resolve, reject) => {
      worker.onerror = (e) => {
        e.preventDefault?.();
        reject(new Error("synk: the client's worker did not start" + (e.message ? ": " + e.message : "")));
      };
      worker.onmessage = ({ data: m }) => {
        if (m.ready) {
          resolve();
          worker.onmessage = ({ data }) => this.#message(data);
          worker.onerror = null; // from now on the worker's errors reach the console as they are
        }
        else if (m.boot) reject(synkError(m.boot));
      };
    });
  }

  /**
   * Calls f in the worker; resolves to its answer {r, e, p}. onEvents,
   * for a dial, receives the connection's events.
   * @param {string} f
   * @param {any[]} a
   * @param {{transfer?: Transferable[], onEvents?: (evs: any[]) => void, signal?: AbortSignal}} [o]
   * @returns {Promise<{r?: any, e?: any, p?: Uint8Array}>}
   */
  call(f, a, { transfer = [], onEvents, signal } = {}) {
    if (this.#stopped) return Promise.resolve({ e: this.#stopped });
    const i = this.#next++;
    if (onEvents) this.#events.set(i, onEvents);
    const p = new Promise((resolve) => this.#calls.set(i, resolve));
    this.#worker.postMessage({ i, f, a }, transfer);
    if (signal) {
      const abort = () => this.#worker.postMessage({ f: "abort", i });
      if (signal.aborted) abort();
      else signal.addEventListener("abort", abort, { once: true });
      p.finally(() => signal.removeEventListener("abort", abort));
    }
    if (onEvents) p.then((m) => { if (m.e) this.#events.delete(i); });
    return p;
  }

  #message(m) {
    if (m.exited !== undefined) {
      // The Go program stopped (a panic; the worker's console says why):
      // every call waiting, and every later one, fails, and every
      // connection is closed.
      this.#stopped = { message: `synk: the client stopped (exit ${m.exited}); see the console`, code: 0 };
      for (const resolve of this.#calls.values()) resolve({ e: this.#stopped });
      this.#calls.clear();
      for (const deliver of this.#events.values()) deliver([{ kind: "closed", error: this.#stopped, entries: {}, deleted: [] }]);
      this.#events.clear();
      this.#worker.terminate(); // its sockets close: the server sees the clients leave
      conns.clear();
      loading = null; // a later connect or join starts a fresh worker
      return;
    }
    if (m.b) {
      const deliver = this.#events.get(m.c);
      if (!deliver) return;
      if (m.end) this.#events.delete(m.c); // the connection's last events: nothing refers to it now
      for (const b of m.b) {
        let events;
        try {
          events = decode(b);
        } catch (err) {
          console.error("synk: a malformed event batch from the worker:", err);
          continue;
        }
        deliver(events);
      }
      return;
    }
    const resolve = this.#calls.get(m.i);
    this.#calls.delete(m.i);
    resolve?.(m);
  }
}

// result is a call's result, or throws its error.
function result(m) {
  if (m.e) throw synkError(m.e);
  return m.r;
}

// synkError makes the Error of synk.d.ts's SynkError from its fields.
function synkError(e) {
  const fields = { code: e.code || 0 };
  if (e.codeName) fields.codeName = e.codeName;
  if (e.pending) fields.pending = true;
  return Object.assign(new Error(e.message), fields);
}

// entries encodes a page's entries or fields for the worker.
function entries(v) {
  if (v === null || typeof v !== "object" || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new TypeError("synk: entries must be a plain object");
  }
  try {
    return encode(v);
  } catch (e) {
    throw new TypeError("synk: " + e.message);
  }
}

/** The websocket URL of the server synk.js was loaded from. */
export function defaultURL() {
  const u = new URL("ws", here);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.href;
}

const conns = new Map(); // key url|client|store|token|deliver → Promise<Conn>

// What one class of this module may see of the other's private state,
// set in their static blocks: nothing of it is public.
let connLink, connRooms, connEvents, roomApply, roomRelease;

/** A connection to a Synk server; it reconnects by itself. */
export class Conn {
  #link;
  #id;
  #forget;
  #rooms = new Map();
  #joining = new Map(); // room name → events that came before its join resolved
  #handlers = new Map();

  static {
    connLink = (c) => c.#link;
    connRooms = (c) => c.#rooms;
    connEvents = (c, evs) => c.#events(evs);
  }

  /** Made by connect; not for pages to call. */
  constructor(link, id, client, forget) {
    this.#link = link;
    this.#id = id;
    this.#forget = forget; // takes it out of the connections connect shares
    /** The client id the server gave this connection. */
    this.client = client;
    this.closed = false;
  }

  /**
   * Joins a room. Resolves once its snapshot is in: room.members() is
   * complete. Events of the room that came meanwhile (a stored cache's
   * objects, a resume's changes, answers to stored writes) are held and
   * delivered in a later task, so that handlers registered right after the
   * await get them. opts: {observer, presence}.
   */
  async join(name, opts = {}) {
    const presence = opts.presence ? entries(opts.presence) : null;
    const early = [];
    this.#joining.set(name, early);
    let res;
    try {
      res = result(await this.#link.call("join", [this.#id, name, !!opts.observer, presence],
        { transfer: presence ? [presence.buffer] : [] }));
    } finally {
      this.#joining.delete(name);
    }
    const room = new Room(this, res.id, name, !!opts.observer, decode(res.state), early);
    this.#rooms.set(name, room);
    setTimeout(() => roomRelease(room), 0);
    return room;
  }

  /**
   * Waits until others meet this request server-wide (shared with the HTTP
   * /event endpoint); resolves to every member's payload by actor.
   * opts: {event, actor, payload, mates (default 1), labels, selector
   * (Kubernetes syntax), timeout (ms, on the server), signal (AbortSignal)}.
   */
  meet(opts) { return meet(this.#link, "conn", this.#id, opts); }

  /** Subscribes to connection events: "disconnected", "reconnected", "closed". */
  on(kind, fn) { return on(this.#handlers, kind, fn); }

  /** Closes the connection and every room on it. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    this.#forget();
    result(await this.#link.call("close", [this.#id]));
  }

  // evs is one batch from the worker, in synk.d.ts's shapes, plus the
  // rooms' states ("sync") that keep their copies whole.
  #events(evs) {
    for (const ev of evs) {
      if (ev.error) ev.error = synkError(ev.error);
      if (ev.room) {
        const room = this.#rooms.get(ev.room);
        if (room) roomApply(room, ev);
        else this.#joining.get(ev.room)?.push(ev);
        if (ev.kind === "closed") this.#rooms.delete(ev.room);
        continue;
      }
      if (ev.kind === "closed" && !this.closed) {
        // Stopped for good (a terminal error): the next connect makes a
        // new connection, and the worker lets go of this one.
        this.closed = true;
        this.#forget();
        this.#link.call("close", [this.#id]);
      }
      emit(this.#handlers, ev.kind, ev);
      for (const r of this.#rooms.values()) roomApply(r, ev);
    }
  }
}

/** A joined room. */
export class Room {
  #id;
  #handlers = new Map();
  #held; // events held until the join's caller could register handlers
  // The room as the client in the worker has it, kept from its events:
  // the synchronous reads answer from here.
  #members = new Map(); // client → entries
  #objects = new Map(); // id → SynkObject
  #pending = []; // the worker's last list of unanswered writes
  #writing = []; // writes of this page not yet answered: pending before the worker lists them

  static {
    roomApply = (r, ev) => r.#event(ev);
    roomRelease = (r) => r.#release();
  }

  /** Made by Conn.join; not for pages to call. */
  constructor(conn, id, name, observer, state, held) {
    this.conn = conn;
    this.name = name;
    this.observer = observer;
    this.#id = id;
    this.#held = held;
    this.#sync(state);
    const link = connLink(conn);
    const call = async (f, a, transfer) => result(await link.call(f, [id, ...a], { transfer }));
    /** This client's own entries in the room. */
    this.presence = {
      /** Stores entries; resolves when the server has them. */
      set: async (values) => { const b = entries(values); return call("set", [b], [b.buffer]); },
      /** Removes keys. */
      delete: (...keys) => call("del", [keys]),
    };
    /** The room's objects: subscribe to areas, read the cache, write. */
    this.objects = {
      /** Changes the areas received; resolves when the cache reflects it. */
      subscribe: (add = [], remove = []) => call("subscribe", [add, remove]),
      /** Cached objects in the subscribed areas, sorted by id. */
      list: () => [...this.#objects.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      /** One cached object, or undefined. */
      get: (oid) => this.#objects.get(oid),
      /** Creates an object; resolves to its version (1). */
      create: (oid, kind, area, fields = {}) => this.#write("create", oid, { kind, area, fields }),
      /** Stores fields (last writer wins per field); opts: {delete: [...], expect: version}. */
      update: (oid, fields, opts = {}) => this.#write("update", oid, { fields, delete: opts.delete, expect: opts.expect }),
      /** Moves an object to another area; opts: {expect}. */
      move: (oid, area, opts = {}) => this.#write("move", oid, { area, expect: opts.expect }),
      /** Deletes an object; opts: {expect}. */
      delete: (oid, opts = {}) => this.#write("delete", oid, { expect: opts.expect }),
      /** Writes not yet answered, oldest first: [{op, object, area?}]. */
      pending: () => this.#pendingList(),
    };
  }

  /** Every participant and its entries, this client included unless observing. */
  members() {
    return [...this.#members].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([client, entries]) => ({ client, entries }));
  }

  /**
   * Sends a message on topic to the room's other members and observers,
   * or with opts.to to that member alone; resolves when the server has
   * queued it for every receiver, who get a "message" event. With
   * opts.area only receivers subscribed to that area (objects.subscribe)
   * get it. Messages are not kept: a member who joins later, or is
   * reconnecting, never gets it.
   */
  async send(topic, data, opts = {}) {
    let b;
    try {
      b = encode(data);
    } catch (e) {
      throw new TypeError("synk: " + e.message);
    }
    return result(await connLink(this.conn).call("send", [this.#id, opts.to ?? "", topic, b, opts.area ?? ""], { transfer: [b.buffer] }));
  }

  /** Conn.meet, scoped to this room: only requests made in it meet. */
  meet(opts) { return meet(connLink(this.conn), "room", this.#id, opts); }

  /**
   * Subscribes to "join", "change", "leave", "disconnected", "reconnected",
   * "closed" (the server closed the room for this client), "object"
   * (e.op: put, update, move, remove, delete), "reset" (the object cache
   * could not resume after a reconnect and was refreshed from a snapshot)
   * "written" (a queued write no promise waited for was answered:
   * e.object, e.version, e.error if refused) and "message" (another
   * member's send: e.client, e.topic, e.data, e.direct when sent to this
   * client alone, e.area when sent in one). Returns an unsubscribe function.
   */
  on(kind, fn) { return on(this.#handlers, kind, fn); }

  /** Leaves the room; closes the connection if it was its last room. */
  async close() {
    const rooms = connRooms(this.conn);
    rooms.delete(this.name);
    await connLink(this.conn).call("leave", [this.#id]);
    if (rooms.size === 0) await this.conn.close();
  }

  async #write(op, oid, o) {
    const mine = { op, object: oid };
    if ((op === "create" || op === "move") && o.area) mine.area = o.area;
    const fields = o.fields ? entries(o.fields) : undefined;
    this.#writing.push(mine);
    let m;
    try {
      m = await connLink(this.conn).call("write", [this.#id, op, oid, { ...o, fields }],
        { transfer: fields ? [fields.buffer] : [] });
    } finally {
      this.#writing.splice(this.#writing.indexOf(mine), 1);
    }
    if (m.p) this.#pending = decode(m.p);
    return result(m);
  }

  // The worker's list, then this page's writes it did not list yet.
  #pendingList() {
    const listed = this.#pending.map((p) => ({ ...p }));
    const left = listed.map((p) => p.op + "\0" + p.object + "\0" + (p.area || ""));
    const out = listed;
    for (const w of this.#writing) {
      const i = left.indexOf(w.op + "\0" + w.object + "\0" + (w.area || ""));
      if (i >= 0) left[i] = null;
      else out.push({ ...w });
    }
    return out;
  }

  #event(ev) {
    if (this.#held) this.#held.push(ev);
    else this.#deliver(ev);
  }

  #release() {
    const held = this.#held || [];
    this.#held = null;
    for (const ev of held) this.#deliver(ev);
  }

  // deliver updates the room's copy, then runs the handlers: a handler
  // sees members() and objects with its event applied.
  #deliver(ev) {
    switch (ev.kind) {
      case "sync": this.#sync(ev); return;
      case "join": this.#members.set(ev.client, { ...ev.entries }); break;
      case "change": {
        const m = { ...this.#members.get(ev.client) };
        for (const k of ev.deleted) delete m[k];
        this.#members.set(ev.client, Object.assign(m, ev.entries));
        break;
      }
      case "leave": this.#members.delete(ev.client); break;
      case "object": this.#object(ev); break;
    }
    emit(this.#handlers, ev.kind, ev);
  }

  #object(ev) {
    const old = this.#objects.get(ev.object);
    switch (ev.op) {
      case "put":
        this.#objects.set(ev.object, { id: ev.object, kind: ev.objectKind ?? old?.kind ?? "", area: ev.area ?? "", version: ev.version, fields: { ...ev.fields } });
        break;
      case "update": {
        if (!old) break;
        const fields = { ...old.fields };
        for (const k of ev.deleted) delete fields[k];
        this.#objects.set(ev.object, { ...old, version: ev.version, fields: Object.assign(fields, ev.fields) });
        break;
      }
      case "move":
        if (old) this.#objects.set(ev.object, { ...old, area: ev.area ?? old.area, version: ev.version });
        break;
      case "remove": case "delete":
        this.#objects.delete(ev.object);
        break;
    }
  }

  // sync replaces the parts of the room's copy that s carries.
  #sync(s) {
    if (s.members) this.#members = new Map(s.members.map((m) => [m.client, m.entries]));
    if (s.objects) this.#objects = new Map(s.objects.map((o) => [o.id, o]));
    if (s.pending) this.#pending = s.pending;
  }
}

function meet(link, kind, id, opts = {}) {
  const { signal, ...o } = opts;
  return link.call("meet", [kind, id, o], { signal }).then(result);
}

/**
 * Connects to url (default: the server synk.js came from), or to the
 * first that answers of a list of urls (the nodes of a cluster): after a
 * disconnect each reconnect attempt goes to the next, with the same rooms,
 * cache and unanswered writes. opts: {client, store, token, deliver}.
 * token: the token a server with auth requires. With store, a name, the
 * connection keeps each joined room's objects, position and unanswered
 * writes in IndexedDB: a write made offline survives a closed tab and
 * goes out when a page joins the room again with the same store.
 * deliver: "message" (the default) hands the page each websocket
 * message's events together, as soon as they arrive (with those of every
 * message that came meanwhile, when they come faster than the page takes
 * them); "frame" at most once per animation frame. Connections are
 * shared per url, client id, store, token and deliver.
 */
export async function connect(url = defaultURL(), opts = {}) {
  url = [].concat(url).join(" ");
  const deliver = opts.deliver === "frame" ? "frame" : "message";
  const key = [url, opts.client || "", opts.store || "", opts.token || "", deliver].join("|");
  if (!conns.has(key)) {
    const p = (async () => {
      const link = await load();
      let conn;
      const queued = [];
      const m = await link.call("dial", [url, { client: opts.client || "", store: opts.store || "", token: opts.token || "", deliver }],
        { onEvents: (evs) => (conn ? connEvents(conn, evs) : queued.push(evs)) });
      const res = result(m);
      conn = new Conn(link, res.id, res.client, () => { if (conns.get(key) === p) conns.delete(key); });
      queued.forEach((evs) => connEvents(conn, evs));
      return conn;
    })();
    conns.set(key, p);
    p.catch(() => conns.delete(key));
  }
  return conns.get(key);
}

/**
 * Joins a room: join(name, opts) on the default server, or
 * join(url, name, opts), url a string or a list (see connect). opts: {observer,
 * presence, client, store, token, deliver}.
 */
export async function join(...args) {
  const [url, name, opts = {}] =
    typeof args[1] === "string" ? args : [defaultURL(), args[0], args[1] || {}];
  const conn = await connect(url, { client: opts.client, store: opts.store, token: opts.token, deliver: opts.deliver });
  return conn.join(name, opts);
}

function on(handlers, kind, fn) {
  if (!handlers.has(kind)) handlers.set(kind, new Set());
  handlers.get(kind).add(fn);
  return () => handlers.get(kind).delete(fn);
}

function emit(handlers, kind, ev) {
  for (const fn of handlers.get(kind) || []) {
    try { fn(ev); } catch (err) { console.error("synk: handler for", kind, "threw", err); }
  }
}
