// Type definitions for synk.js, the Synk browser client.

/**
 * A value that travels as msgpack. Numbers that are not integers travel as
 * float64 (9 bytes); a Float32Array (any typed array or DataView) travels
 * as the bytes it views, 4 per float, and arrives as a Uint8Array `u`:
 * read it back with `new Float32Array(u.buffer)`.
 */
export type Value =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | ArrayBufferView
  | Date
  | Value[]
  | { [key: string]: Value };

/** An entry map: one client's presence. */
export type Values = { [key: string]: Value };

/** A rejected promise carries the protocol error code (docs/PROTOCOL.md). */
export interface SynkError extends Error {
  /** e.g. 204 for ReadOnly; 0 when the error did not come from the protocol. */
  code: number;
  /** e.g. "ReadOnly". */
  codeName?: string;
  /** A write not answered within 30 s: it stays queued (and stored, with a
   *  store) and its answer arrives as a "written" event. */
  pending?: boolean;
}

/** The kinds of SynkEvent: presence and the connection's state. */
export type PresenceEventKind = "join" | "change" | "leave" | "disconnected" | "reconnected" | "closed";
/** Every kind Room.on takes. */
export type RoomEventKind = PresenceEventKind | "object" | "reset" | "written" | "message";
export type ConnEventKind = "disconnected" | "reconnected" | "closed";

export interface SynkEvent {
  kind: PresenceEventKind;
  room?: string;
  /** The participant, for join, change and leave. */
  client?: string;
  /** Entries stored (join, change). */
  entries: Values;
  /** Keys removed (change). */
  deleted: string[];
  /** Why: a leave that was not on purpose, a disconnect, a closed room. */
  error?: SynkError;
}

/** An object event (kind "object"). */
export interface ObjectEvent {
  kind: "object";
  /** put: whole object now in view; update: fields stored, deleted removed;
   *  move: to area, both in view; remove: left the view; delete: deleted. */
  op: "put" | "update" | "move" | "remove" | "delete";
  room: string;
  object: string;
  area?: string;
  /** put: what the object is, as given to create (e.g. "crate"). */
  objectKind?: string;
  version: number;
  fields: Values;
  deleted: string[];
}

/** The object cache could not resume after a reconnect and was refreshed
 *  from a snapshot (kind "reset"): objects events follow for what is in
 *  view now. */
export interface ResetEvent {
  kind: "reset";
  room: string;
}

/** A queued write no promise waited for was answered (kind "written"). */
export interface WrittenEvent {
  kind: "written";
  room: string;
  object: string;
  /** The object's version after the write; 0 if refused. */
  version: number;
  /** Why the server refused it, if it did. */
  error?: SynkError;
}

/** Another member's message (kind "message"; Room.send). */
export interface MessageEvent {
  kind: "message";
  room: string;
  /** The sender's client id. */
  client: string;
  topic: string;
  /** Any value that travels as msgpack (see Values). */
  data: unknown;
  /** Sent to this client alone. */
  direct?: boolean;
  /** The area it was sent in (Room.send's opts.area). */
  area?: string;
}

/** A write in the outbox, not yet answered. */
export interface PendingWrite {
  op: "create" | "update" | "move" | "delete";
  object: string;
  area?: string;
}

/** An object in the client's cache. */
export interface SynkObject {
  id: string;
  /** What the object is, as given to create (e.g. "crate"). */
  kind: string;
  area: string;
  version: number;
  fields: Values;
}

/** A rendezvous request (netsync): see Conn.meet. */
export interface MeetOptions {
  /** Only requests with the same event meet. */
  event: string;
  /** This request's name: 1–63 of A-Z a-z 0-9 - _ . */
  actor: string;
  /** Given to every member. */
  payload?: string;
  /** How many others to meet; default 1. A group has its largest mates + 1 members. */
  mates?: number;
  /** Default {actor: actor}. */
  labels?: { [key: string]: string };
  /** Kubernetes label selector over the others' labels; default "actor != <actor>". */
  selector?: string;
  /** Milliseconds to wait on the server (default: its limit); then rejects with codeName "Expired". */
  timeout?: number;
  /** Aborting withdraws the request; the promise rejects. */
  signal?: AbortSignal;
}

export interface Member {
  client: string;
  entries: Values;
}

/** Options of Conn.join: the room's, not the connection's. */
export interface RoomOptions {
  /** Read-only: see everyone, be seen by no one. */
  observer?: boolean;
  /** This client's first entries. */
  presence?: Values;
}

/** Options of join: the room's and, for the connection it makes or
 *  shares, the connection's (see connect). */
export interface JoinOptions extends RoomOptions {
  /** Client id; default: the server picks one. */
  client?: string;
  /** Keep the room's objects, position and unanswered writes in the
   *  IndexedDB store of this name, across reloads and closed tabs. */
  store?: string;
  /** The token (a JSON Web Token) a server with auth requires; its
   *  subject is then the client id. */
  token?: string;
  /** When the page gets events: "message" (default) as soon as they
   *  arrive, each websocket message's events together (and those of
   *  every message that came meanwhile, when they come faster than the
   *  page takes them); "frame" at most once per animation frame, for
   *  pages that draw them. */
  deliver?: "message" | "frame";
}

export class Room {
  /** Rooms are made by Conn.join and join. */
  private constructor();
  readonly conn: Conn;
  readonly name: string;
  readonly observer: boolean;
  readonly presence: {
    /** Stores entries; resolves when the server has them. */
    set(entries: Values): Promise<void>;
    /** Removes keys. */
    delete(...keys: string[]): Promise<void>;
  };
  readonly objects: {
    /** Changes the areas received; resolves when the cache reflects it. */
    subscribe(add?: string[], remove?: string[]): Promise<void>;
    list(): SynkObject[];
    get(id: string): SynkObject | undefined;
    /** Resolves to the new version. */
    create(id: string, kind: string, area: string, fields?: Values): Promise<number>;
    update(id: string, fields: Values, opts?: { delete?: string[]; expect?: number }): Promise<number>;
    move(id: string, area: string, opts?: { expect?: number }): Promise<number>;
    delete(id: string, opts?: { expect?: number }): Promise<number>;
    /** Writes not yet answered, oldest first. */
    pending(): PendingWrite[];
  };
  /** Every participant, sorted by client id. */
  members(): Member[];
  /** Sends a message on topic to the other members and observers, or to
   *  member opts.to alone; resolves when the server has queued it. Not
   *  kept: who joins later, or is reconnecting, never gets it. Observers
   *  cannot send. With opts.area only the receivers subscribed to that
   *  area (objects.subscribe) get it: interest management. */
  send(topic: string, data: unknown, opts?: { to?: string; area?: string }): Promise<void>;
  /** Conn.meet scoped to this room. Observers cannot meet. */
  meet(opts: MeetOptions): Promise<{ [actor: string]: string }>;
  /** Returns an unsubscribe function. */
  on(kind: "object", fn: (e: ObjectEvent) => void): () => void;
  on(kind: "written", fn: (e: WrittenEvent) => void): () => void;
  on(kind: "reset", fn: (e: ResetEvent) => void): () => void;
  on(kind: "message", fn: (e: MessageEvent) => void): () => void;
  on(kind: PresenceEventKind, fn: (e: SynkEvent) => void): () => void;
  /** Leaves; closes the connection if it was its last room. */
  close(): Promise<void>;
}

export class Conn {
  /** Connections are made by connect and join. */
  private constructor();
  readonly client: string;
  readonly closed: boolean;
  join(name: string, opts?: RoomOptions): Promise<Room>;
  /** Waits until others meet this request server-wide; resolves to every payload by actor. */
  meet(opts: MeetOptions): Promise<{ [actor: string]: string }>;
  on(kind: ConnEventKind, fn: (e: SynkEvent) => void): () => void;
  close(): Promise<void>;
}

/** Starts the client's Web Worker and loads the wasm client in it (done
 *  by the other calls on first use). The page compiles synk.wasm while the
 *  worker starts, off its main thread, and hands the module over. base is
 *  the folder that holds synk-worker.js, synk.wasm and wasm_exec.js when
 *  synk.js was bundled (default: beside synk.js, or the bundle); only the
 *  call that starts the worker uses it. */
export function load(opts?: { base?: string | URL }): Promise<unknown>;
/** ws(s)://<server synk.js came from>/ws */
export function defaultURL(): string;
export function connect(url?: string | string[], opts?: { client?: string; store?: string; token?: string; deliver?: "message" | "frame" }): Promise<Conn>;
export function join(name: string, opts?: JoinOptions): Promise<Room>;
export function join(url: string | string[], name: string, opts?: JoinOptions): Promise<Room>;
