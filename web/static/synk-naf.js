// synk-naf.js — a Networked-A-Frame adapter on Synk. Load it after
// aframe and networked-aframe, and choose it on the scene:
//
//   <script src="aframe.min.js"></script>
//   <script src="networked-aframe.min.js"></script>
//   <script type="module" src="https://your-synk-server/synk-naf.js"></script>
//   <a-scene networked-scene="adapter: synk; room: lobby; serverURL: /">
//
// serverURL "/" (NAF's default) is the server synk-naf.js came from;
// otherwise the Synk websocket address (wss://host/ws). Each page is a
// member of the Synk room (app "default" leaves the room name as it is,
// another app prefixes it: "app.room"); its occupants are the room's other
// members that run this adapter. NAF's messages ("u", "um", "r" and the
// page's own) travel as Synk messages, as msgpack.
//
// After a reconnect, or a server restart, the page forgets what the others
// had sent (their entities), asks them to send it again, and sends its own
// again: no entity of anyone vanishes, none is doubled, and none removed
// meanwhile stays as a ghost. Messages are not kept by the server, so this
// is how a page catches up.
//
// Options, on the scene's synk-naf component (all optional):
//
//   <a-scene networked-scene="adapter: synk; room: world"
//            synk-naf="areas: true; cell: 10; radius: 1; follow: [camera]">
//
// areas: interest management, which NAF lacks. Each entity's updates
// travel with the grid cell its position is in (cell metres square, on the
// ground plane), and the page receives only those of the cells within
// radius of its follow element (the camera), subscribing as it walks:
// entities in cells it leaves are removed from its scene, and those in
// cells it enters appear (their owners send them in full). A page far
// away in a large world receives nothing of what happens here. Persistent
// entities stay in the scene when their cell is left (they are part of
// it), and get no updates there.
//
// persistent: an entity with networked's persistent flag (NAF's own, as
// in "persistent: true; owner: scene", or spawned with it) is kept as a
// Synk object (kind "naf", id "naf." + its networkId) in the server's
// store, written by its owner at most every persistEvery ms. A page that
// connects, even to an empty room after a server restart, gets every such
// entity as it was last written: one in its scene is updated, one it does
// not have (spawned by a page since gone) is created from its template,
// owned by "scene" until a page takes it. Removing it (NAF's "r") deletes
// the object. persist: false leaves this out. A persistent entity in
// the scene's HTML needs NAF's "owner: scene": with no owner, the first
// page to connect takes it and sends its HTML state, which then wins over
// the stored one.
//
// The adapter registers itself when this module runs, before A-Frame
// initialises the scene (which waits for the document to be complete).

import * as synk from "./synk.js";

// A member that came back asks the others for their entities.
const hello = "naf.hello";
// With areas: a page that subscribed to cells asks the owners of entities
// in them to send those in full ({c: [cells]}).
const want = "naf.want";
// With areas: an entity left a cell for another ({n: networkId, c: new
// cell}), sent in the cell it left: pages that do not see the new cell
// remove it.
const left = "naf.left";
// The Synk objects of persistent entities: kind, id prefix, and the area
// they are in when areas are off.
const kind = "naf";
const objectPrefix = "naf.";
const allArea = "naf";
// How the page's clock is set to the server's (getServerTime): samples of
// its Date header, each ± half a second.
const clockSamples = 5;

export class SynkAdapter {
  constructor() {
    this.serverURL = "/";
    this.app = "default";
    this.roomName = "default";
    /** @type {import("./synk.js").Room | null} */
    this.room = null;
    this.clientId = "";
    this.occupants = {};
    this.open = new Set(); // clients whose data channel NAF has open
    this.offset = 0; // server time − local time, ms
    this.offsets = [];
    this.opts = { areas: false, cell: 10, radius: 1, follow: "[camera]", persist: true, persistEvery: 1000 };
    this.cells = new Set(); // with areas: the cells subscribed to
    this.sentCell = new Map(); // networkId of an entity this page sends → its cell
    this.seenCell = new Map(); // networkId of an entity of another page → its cell, as last heard
    this.persisting = new Map(); // networkId → {data, last, timer}: persistent entities this page writes
    this.timer = 0;
    // cellOf runs for every entity update sent: one vector for them all.
    this.scratch = new AFRAME.THREE.Vector3();
    this.ready = false; // connected, and NAF knows the occupants
    this.restoring = []; // object events that came before
  }

  setServerUrl(url) { this.serverURL = url || "/"; }
  setApp(app) { this.app = app || "default"; }
  setRoom(room) { this.roomName = room || "default"; }
  setWebRtcOptions(o) {
    if (o && (o.audio || o.video)) NAF.log.warn("synk adapter: data only, no audio or video");
  }
  setServerConnectListeners(success, failure) { this.connectSuccess = success; this.connectFailure = failure; }
  setRoomOccupantListener(listener) { this.occupantListener = listener; }
  setDataChannelListeners(open, closed, message) {
    this.openListener = open;
    this.closedListener = closed;
    this.messageListener = message;
  }

  /** The Synk room's name for NAF's app and room. */
  synkRoom() { return this.app === "default" ? this.roomName : `${this.app}.${this.roomName}`; }

  async connect() {
    const url = this.serverURL === "/" ? synk.defaultURL() : this.serverURL;
    const sceneEl = document.querySelector("[networked-scene]");
    this.opts = options(sceneEl?.getAttribute("synk-naf"), this.opts);
    let room;
    try {
      // With areas the page shows up (presence naf) once subscribed:
      // the others send it their entities then, in their cells.
      room = await synk.join(url, this.synkRoom(), { presence: this.opts.areas ? {} : { naf: 1 } });
    } catch (e) {
      NAF.log.error("synk adapter: join failed:", e.message);
      this.connectFailure?.(e.code ?? 0, e.message);
      return;
    }
    this.room = room;
    this.clientId = room.conn.client;
    room.on("join", () => this.updateOccupants());
    room.on("leave", () => this.updateOccupants());
    room.on("change", () => this.updateOccupants());
    room.on("message", (e) => this.receive(e));
    room.on("reconnected", () => this.rejoined());
    room.on("closed", () => this.lost());
    room.on("object", (e) => this.restore(e));
    this.syncClock(url);
    // Subscribed before anyone sends this page their entities (they do
    // when it shows up among their occupants): with areas, the server
    // passes on only what is in its cells.
    if (this.opts.areas) {
      try {
        this.cells = new Set(this.cellsAround());
        await room.objects.subscribe([...this.cells]);
        this.timer = setInterval(() => this.walk(), 250);
      } catch (e) {
        NAF.log.error("synk adapter: areas off: cannot subscribe:", e.message);
        this.opts.areas = false;
        this.cells.clear();
      }
      await room.presence.set({ naf: 1 });
    }
    if (!this.opts.areas && this.opts.persist) {
      room.objects.subscribe([allArea]).catch((e) => NAF.log.error("synk adapter: no persistent entities:", e.message));
    }
    this.connected = true;
    this.connectSuccess(this.clientId);
    this.updateOccupants();
    this.ready = true;
    for (const e of this.restoring.splice(0)) this.restore(e);
  }

  /** The cell (a Synk area) of a point on the ground plane. */
  cellAt(x, z) {
    const c = this.opts.cell;
    return `naf:${Math.floor(x / c)}:${Math.floor(z / c)}`;
  }

  // cellOf returns the cell of an entity's world position.
  cellOf(el) {
    const p = el.object3D.getWorldPosition(this.scratch);
    return this.cellAt(p.x, p.z);
  }

  // cellsAround lists the cells within radius of the follow element.
  cellsAround() {
    const el = document.querySelector(this.opts.follow);
    const p = el ? el.object3D.getWorldPosition(this.scratch) : { x: 0, z: 0 };
    const c = this.opts.cell, r = this.opts.radius;
    const [cx, cz] = [Math.floor(p.x / c), Math.floor(p.z / c)];
    const out = [];
    for (let i = -r; i <= r; i++) for (let j = -r; j <= r; j++) out.push(`naf:${cx + i}:${cz + j}`);
    return out;
  }

  // walk follows the camera: when its cells change, it subscribes to the
  // new ones, drops the entities of the ones left, and asks for those of
  // the new ones.
  async walk() {
    if (!this.room || this.walking) return;
    const now = new Set(this.cellsAround());
    const add = [...now].filter((c) => !this.cells.has(c));
    const remove = [...this.cells].filter((c) => !now.has(c));
    if (!add.length && !remove.length) return;
    this.walking = true;
    try {
      await this.room.objects.subscribe(add, remove);
      this.cells = now;
      for (const [id, cell] of this.seenCell) if (!now.has(cell)) this.drop(id);
      if (add.length) await this.room.send(want, { c: add });
    } catch (e) {
      NAF.log.warn("synk adapter: walking:", e.message);
    } finally {
      this.walking = false;
    }
  }

  // drop removes another page's entity that is out of this page's cells,
  // as if its owner had removed it; persistent ones stay in the scene.
  drop(id) {
    this.seenCell.delete(id);
    const el = NAF.entities.getEntity(id);
    if (!el || NAF.utils.isMine(el) || el.components.networked?.data.persistent) return;
    this.messageListener?.(NAF.utils.getNetworkOwner(el), "r", { networkId: id }, "synk");
  }

  // sendWanted sends client, in full, this page's entities in cells.
  sendWanted(client, cells) {
    if (!Array.isArray(cells)) return;
    for (const el of Object.values(NAF.entities.entities)) {
      if (el && cells.includes(this.cellOf(el))) el.components.networked.syncAll(client, true);
    }
  }

  // updateOccupants tells NAF who is in the room: the other members that
  // run this adapter.
  updateOccupants() {
    if (!this.room || !this.connected) return; // NAF must know this page's id first
    const occupants = {};
    for (const m of this.room.members()) {
      if (m.client !== this.clientId && m.entries.naf) occupants[m.client] = true;
    }
    this.occupants = occupants;
    this.occupantListener?.(occupants);
  }

  // rejoined runs after a reconnect: messages sent meanwhile are lost both
  // ways. The others' entities go (NAF closes their channels); a hello
  // asks them to drop this page's entities and send theirs again; then the
  // channels open again and NAF sends this page's entities to each.
  rejoined() {
    this.seenCell.clear();
    this.occupantListener?.({});
    this.room.send(hello, 1).catch((e) => NAF.log.warn("synk adapter: hello:", e.message));
    this.updateOccupants();
  }

  // lost: the room is closed for good (the server refused this client).
  lost() {
    this.occupantListener?.({});
    this.stop();
  }

  stop() {
    this.room = null;
    this.connected = this.ready = false;
    clearInterval(this.timer);
    for (const p of this.persisting.values()) clearTimeout(p.timer);
    this.persisting.clear();
  }

  receive(e) {
    if (e.topic === hello) {
      // e.client came back: what it had sent may be stale, and it lost what
      // this page sent. Drop its entities (it sends them again) and send
      // this page's.
      if (this.open.has(e.client)) {
        this.closedListener(e.client);
        this.openListener(e.client);
      }
      return;
    }
    if (e.topic === want) return this.sendWanted(e.client, e.data?.c);
    if (e.topic === left) {
      if (this.opts.areas && !this.cells.has(e.data?.c)) this.drop(e.data?.n);
      return;
    }
    const items = e.topic === "u" ? [e.data] : e.topic === "um" ? e.data?.d ?? [] : [];
    if (e.area) for (const d of items) this.seenCell.set(d.networkId, e.area);
    this.messageListener?.(e.client, e.topic, e.data, "synk");
    for (const d of items) if (d.isFirstSync && d.persistent) this.spawn(d);
  }

  // spawn adds a persistent entity this page does not have (spawned by
  // another page, or by one since gone) from its template: NAF keeps its
  // first sync until then (as its persistent-p2p example does by hand).
  spawn(d) {
    if (NAF.entities.hasEntity(d.networkId) || !NAF.entities.getPersistentFirstSync(d.networkId)) return;
    const el = document.createElement("a-entity");
    el.setAttribute("networked", { networkId: d.networkId, template: d.template, persistent: true, owner: "scene" });
    (NAF.entities.getEntity(d.parent) || document.querySelector("a-scene")).appendChild(el);
    NAF.utils.getNetworkedEntity(el).then((n) => n.components.networked.applyPersistentFirstSync());
  }

  // restore applies a persistent entity's object, as the server stores
  // it, unless this page or a page present owns it (their own data is
  // newer): its owner becomes "scene", NAF's owner for "nobody", just
  // before the stored owner's time, so that any update of a real owner
  // wins over it.
  restore(e) {
    if (!e.object.startsWith(objectPrefix)) return;
    if (!this.ready) return void this.restoring.push(e);
    const id = e.object.slice(objectPrefix.length);
    const el = NAF.entities.getEntity(id);
    if (e.op === "delete") {
      if (el && !NAF.utils.isMine(el)) this.messageListener?.(NAF.utils.getNetworkOwner(el), "r", { networkId: id }, "synk");
      return;
    }
    const d = e.fields?.e;
    if (e.op !== "put" || e.objectKind !== kind || !d || d.networkId !== id || (el && NAF.utils.isMine(el)) || this.occupants[d.owner]) return;
    const data = { ...d, owner: "scene", lastOwnerTime: d.lastOwnerTime - 1, persistent: true, isFirstSync: true };
    this.messageListener?.("scene", "u", data, "synk");
    this.spawn(data);
  }

  shouldStartConnectionTo() { return true; }

  startStreamConnection(clientId) {
    this.open.add(clientId);
    this.openListener(clientId);
  }

  closeStreamConnection(clientId) {
    if (!this.open.delete(clientId)) return;
    this.closedListener(clientId);
  }

  getConnectStatus(clientId) {
    return this.open.has(clientId) ? NAF.adapters.IS_CONNECTED : NAF.adapters.NOT_CONNECTED;
  }

  getMediaStream() { return Promise.reject(new Error("synk adapter: no media streams")); }

  getServerTime() { return Date.now() + this.offset; }

  sendData(to, type, data) { this.sendDataGuaranteed(to, type, data); }

  sendDataGuaranteed(to, type, data) { this.send(type, data, to); }

  broadcastData(type, data) { this.broadcastDataGuaranteed(type, data); }

  broadcastDataGuaranteed(type, data) { this.send(type, data, ""); }

  send(type, data, to) {
    if (!this.room) return;
    const items = type === "u" ? [data] : type === "um" ? data.d : [];
    if (this.opts.persist) {
      for (const d of items) if (d.persistent) this.persistLater(d);
      if (type === "r" && NAF.entities.getEntity(data.networkId)?.components.networked?.data.persistent) this.unpersist(data.networkId);
    }
    if (type === "r") this.sentCell.delete(data.networkId);
    if (!this.opts.areas || !items.length) return this.post(type, data, to, "");
    // Each entity's update goes to its cell; one that changed cell is sent
    // in full to the new one, and the old one hears that it left.
    const groups = new Map();
    for (const d of items) {
      const el = NAF.entities.getEntity(d.networkId);
      const cell = el ? this.cellOf(el) : "";
      const was = this.sentCell.get(d.networkId);
      this.sentCell.set(d.networkId, cell);
      if (was !== undefined && was !== cell && cell) {
        if (was) this.post(left, { n: d.networkId, c: cell }, "", was);
        if (!d.isFirstSync) {
          el.components.networked.syncAll(undefined, true);
          continue;
        }
      }
      if (!groups.has(cell)) groups.set(cell, []);
      groups.get(cell).push(d);
    }
    for (const [cell, ds] of groups) this.post(type, type === "u" ? ds[0] : { d: ds }, to, cell);
  }

  post(type, data, to, area) {
    // While disconnected a send fails: the reconnect's hello makes up for it.
    const opts = {};
    if (to) opts.to = to;
    if (area) opts.area = area;
    this.room.send(type, data, opts).catch((e) => NAF.log.write("synk adapter: send:", e.message));
  }

  // persistLater merges a persistent entity's update into what this page
  // writes of it, and writes it within persistEvery ms.
  persistLater(d) {
    let p = this.persisting.get(d.networkId);
    if (!p) this.persisting.set(d.networkId, (p = { data: { components: {} }, last: 0, timer: 0 }));
    const { components, isFirstSync, ...meta } = d;
    Object.assign(p.data, meta);
    Object.assign(p.data.components, components);
    if (!p.timer) p.timer = setTimeout(() => this.persist(d.networkId), Math.max(0, p.last + this.opts.persistEvery - Date.now()));
  }

  async persist(id) {
    const p = this.persisting.get(id);
    if (!p || !this.room) return;
    p.timer = 0;
    p.last = Date.now();
    const el = NAF.entities.getEntity(id);
    const area = this.opts.areas && el ? this.cellOf(el) : allArea;
    const oid = objectPrefix + id, objects = this.room.objects;
    const fields = { e: p.data };
    try {
      const o = objects.get(oid);
      if (!o) {
        try {
          return await objects.create(oid, kind, area, fields);
        } catch (e) {
          if (e.codeName !== "Exists") throw e;
        }
      }
      await objects.update(oid, fields);
      if (o?.area !== area) await objects.move(oid, area);
    } catch (e) {
      if (!e.pending) NAF.log.warn("synk adapter: persisting", id + ":", e.message);
    }
  }

  // unpersist deletes a removed persistent entity's object.
  unpersist(id) {
    const p = this.persisting.get(id);
    clearTimeout(p?.timer);
    this.persisting.delete(id);
    this.room.objects.delete(objectPrefix + id).catch((e) => {
      if (e.codeName !== "NotFound" && !e.pending) NAF.log.warn("synk adapter: deleting", id + ":", e.message);
    });
  }

  disconnect() {
    const room = this.room;
    this.stop();
    for (const id of [...this.open]) this.closeStreamConnection(id);
    this.occupants = {};
    room?.close();
  }

  // syncClock sets the offset to the server's clock from the Date header of
  // a few HEAD requests (±0.5 s each, averaged; NAF compares ownership times
  // across pages with it). A Synk server exposes the header to other
  // origins; where it cannot be read the page's own clock is used.
  async syncClock(wsURL) {
    const u = new URL(wsURL);
    u.protocol = u.protocol === "wss:" ? "https:" : "http:";
    u.pathname = "/favicon.ico";
    for (let i = 0; i < clockSamples && this.room; i++) {
      try {
        const sent = Date.now();
        const res = await fetch(u, { method: "HEAD", cache: "no-store" });
        const got = Date.now();
        const date = res.headers.get("Date");
        if (!date) return;
        this.offsets.push(new Date(date).getTime() + 500 - (sent + got) / 2);
        this.offset = this.offsets.reduce((a, b) => a + b, 0) / this.offsets.length;
      } catch {
        return;
      }
    }
  }
}

// options reads the synk-naf attribute (its component's data, or the
// string before A-Frame parsed it) over defaults.
function options(v, defaults) {
  if (typeof v === "string") v = AFRAME.utils.styleParser.parse(v);
  const out = { ...defaults };
  for (const [k, d] of Object.entries(defaults)) {
    const x = v?.[k];
    if (x === undefined || x === null || x === "") continue;
    out[k] = typeof d === "boolean" ? x === true || x === "true" : typeof d === "number" ? Number(x) : String(x);
  }
  return out;
}

if (globalThis.AFRAME && !AFRAME.components["synk-naf"]) {
  AFRAME.registerComponent("synk-naf", {
    schema: {
      areas: { default: false },
      cell: { default: 10 },
      radius: { type: "int", default: 1 },
      follow: { default: "[camera]" },
      persist: { default: true },
      persistEvery: { default: 1000 },
    },
  });
}
if (globalThis.NAF?.adapters) NAF.adapters.register("synk", SynkAdapter);
else console.error("synk-naf.js: load networked-aframe before it (NAF is not defined)");
