// synk.js — the Synk browser client. Loads the Go client compiled to
// WebAssembly (synk.wasm, with wasm_exec.js from the same Go toolchain) and
// gives it a small promise-and-events API:
//
//   import * as synk from "https://your-synk-server/synk.js";
//   const room = await synk.join("lobby", { presence: { name: "ada" } });
//   room.on("join", (m) => console.log(m.client, "joined", m.entries));
//   await room.presence.set({ x: 1, y: 2 });
//   room.close();
//
// Types: synk.d.ts beside this file.

const base = new URL(".", import.meta.url);
let loading = null;

/** Loads the wasm client once; every other call awaits it. */
export function load() {
  if (!loading) loading = boot().catch((e) => { loading = null; throw e; });
  return loading;
}

async function boot() {
  const src = await fetch(new URL("synk.wasm", base));
  if (!src.ok) throw await httpError(src);
  if (!globalThis.Go) await import(new URL("wasm_exec.js", base).href);
  const go = new globalThis.Go();
  const ready = new Promise((resolve) => { globalThis.__synkReady = resolve; });
  let result;
  try {
    result = await WebAssembly.instantiateStreaming(src, go.importObject);
  } catch (e) { // a server without application/wasm, or an old browser
    const bytes = await (await fetch(new URL("synk.wasm", base))).arrayBuffer();
    result = await WebAssembly.instantiate(bytes, go.importObject);
  }
  go.run(result.instance); // resolves only when main exits: never awaited
  await ready;
  return globalThis.__synk;
}

// httpError turns a failed fetch of the client into an Error as the
// protocol's: the server's JSON error when it sent one (a binary built
// without the browser client says so), else the HTTP status.
async function httpError(resp) {
  let e = { code: 0, name: "", message: `synk.wasm: HTTP ${resp.status}` };
  try { e = { ...e, ...(await resp.json()).error }; } catch { /* not JSON */ }
  return Object.assign(new Error(e.message), { code: e.code, codeName: e.name });
}

/** The websocket URL of the server synk.js was loaded from. */
export function defaultURL() {
  const u = new URL("ws", base);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.href;
}

const conns = new Map(); // key url|client → Promise<Conn>

// What one class of this module may see of the other's private state,
// set in their static blocks: nothing of it is public.
let connAPI, connRooms, connEvent, roomEmit, roomHold, roomRelease;

/** A connection to a Synk server; it reconnects by itself. */
export class Conn {
  #api;
  #id;
  #rooms = new Map();
  #joining = new Map(); // room name → events that came before its join resolved
  #handlers = new Map();

  static {
    connAPI = (c) => c.#api;
    connRooms = (c) => c.#rooms;
    connEvent = (c, e) => c.#event(e);
  }

  /** Made by connect; not for pages to call. */
  constructor(api, id, client) {
    this.#api = api;
    this.#id = id;
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
    const early = [];
    this.#joining.set(name, early);
    let id;
    try {
      id = await this.#api.join(this.#id, name, {
        observer: !!opts.observer,
        presence: opts.presence || undefined,
      });
    } finally {
      this.#joining.delete(name);
    }
    const room = new Room(this, id, name, !!opts.observer);
    roomHold(room, early);
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
  meet(opts) { return this.#api.meet("conn", this.#id, opts); }

  /** Subscribes to connection events: "disconnected", "reconnected", "closed". */
  on(kind, fn) { return on(this.#handlers, kind, fn); }

  /** Closes the connection and every room on it. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    for (const [key, p] of conns) if (await p.catch(() => null) === this) conns.delete(key);
    await this.#api.close(this.#id);
  }

  // ev comes from the bridge in its final shape (synk.d.ts).
  #event(ev) {
    if (ev.room) {
      const room = this.#rooms.get(ev.room);
      if (room) roomEmit(room, ev);
      else this.#joining.get(ev.room)?.push(ev);
      if (ev.kind === "closed") this.#rooms.delete(ev.room);
      return;
    }
    emit(this.#handlers, ev.kind, ev);
    for (const r of this.#rooms.values()) roomEmit(r, ev);
  }
}

/** A joined room. */
export class Room {
  #id;
  #handlers = new Map();
  #held = null; // events held until the join's caller could register handlers

  static {
    roomEmit = (r, ev) => r.#emit(ev);
    roomHold = (r, held) => { r.#held = held; };
    roomRelease = (r) => r.#release();
  }

  /** Made by Conn.join; not for pages to call. */
  constructor(conn, id, name, observer) {
    this.conn = conn;
    this.name = name;
    this.observer = observer;
    this.#id = id;
    const api = connAPI(conn);
    /** This client's own entries in the room. */
    this.presence = {
      /** Stores entries; resolves when the server has them. */
      set: (entries) => api.set(id, entries),
      /** Removes keys. */
      delete: (...keys) => api.del(id, keys),
    };
    /** The room's objects: subscribe to areas, read the cache, write. */
    this.objects = {
      /** Changes the areas received; resolves when the cache reflects it. */
      subscribe: (add = [], remove = []) => api.subscribe(id, add, remove),
      /** Cached objects in the subscribed areas, sorted by id. */
      list: () => api.objects(id) || [],
      /** One cached object, or undefined. */
      get: (oid) => (api.objects(id) || []).find((o) => o.id === oid),
      /** Creates an object; resolves to its version (1). */
      create: (oid, kind, area, fields = {}) => api.write(id, "create", oid, { kind, area, fields }),
      /** Stores fields (last writer wins per field); opts: {delete: [...], expect: version}. */
      update: (oid, fields, opts = {}) =>
        api.write(id, "update", oid, { fields, delete: opts.delete, expect: opts.expect }),
      /** Moves an object to another area; opts: {expect}. */
      move: (oid, area, opts = {}) => api.write(id, "move", oid, { area, expect: opts.expect }),
      /** Deletes an object; opts: {expect}. */
      delete: (oid, opts = {}) => api.write(id, "delete", oid, { expect: opts.expect }),
      /** Writes not yet answered, oldest first: [{op, object, area?}]. */
      pending: () => api.pending(id) || [],
    };
  }

  /** Every participant and its entries, this client included unless observing. */
  members() { return connAPI(this.conn).members(this.#id) || []; }

  /** Conn.meet, scoped to this room: only requests made in it meet. */
  meet(opts) { return connAPI(this.conn).meet("room", this.#id, opts); }

  /**
   * Subscribes to "join", "change", "leave", "disconnected", "reconnected",
   * "closed" (the server closed the room for this client), "object"
   * (e.op: put, update, move, remove, delete), "reset" (the object cache
   * could not resume after a reconnect and was refreshed from a snapshot)
   * and "written" (a queued write no promise waited for was answered:
   * e.object, e.version, e.error if refused). Returns an unsubscribe
   * function.
   */
  on(kind, fn) { return on(this.#handlers, kind, fn); }

  /** Leaves the room; closes the connection if it was its last room. */
  async close() {
    const rooms = connRooms(this.conn);
    rooms.delete(this.name);
    await connAPI(this.conn).leave(this.#id).catch(() => {});
    if (rooms.size === 0) await this.conn.close();
  }

  #emit(ev) {
    if (this.#held) this.#held.push(ev);
    else emit(this.#handlers, ev.kind, ev);
  }

  #release() {
    const held = this.#held || [];
    this.#held = null;
    for (const ev of held) emit(this.#handlers, ev.kind, ev);
  }
}

/**
 * Connects to url (default: the server synk.js came from), or to the
 * first that answers of a list of urls (the nodes of a cluster): after a
 * disconnect each reconnect attempt goes to the next, with the same rooms,
 * cache and unanswered writes. opts: {client,
 * store, token}. token: the token a server with auth requires. With store, a name, the connection keeps each joined room's
 * objects, position and unanswered writes in IndexedDB: a write made
 * offline survives a closed tab and goes out when a page joins the room
 * again with the same store. Connections are shared per url, client id
 * and store.
 */
export async function connect(url = defaultURL(), opts = {}) {
  url = [].concat(url).join(" ");
  const key = url + "|" + (opts.client || "") + "|" + (opts.store || "") + "|" + (opts.token || "");
  if (!conns.has(key)) {
    const p = (async () => {
      const api = await load();
      let conn;
      const queued = [];
      const res = await api.dial(url, { client: opts.client || "", store: opts.store || "", token: opts.token || "" }, (e) => {
        // Called from Go: run handlers in a later microtask, never on Go's stack.
        queueMicrotask(() => (conn ? connEvent(conn, e) : queued.push(e)));
      });
      conn = new Conn(api, res.id, res.client);
      queued.forEach((e) => connEvent(conn, e));
      return conn;
    })();
    conns.set(key, p);
    p.catch(() => conns.delete(key));
  }
  return conns.get(key);
}

/**
 * Joins a room: join(name, opts) on the default server, or
 * join(url, name, opts), url a string or a list (see connect). opts: { observer, presence, client, store, token }.
 */
export async function join(...args) {
  const [url, name, opts = {}] =
    typeof args[1] === "string" ? args : [defaultURL(), args[0], args[1] || {}];
  const conn = await connect(url, { client: opts.client, store: opts.store, token: opts.token });
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
