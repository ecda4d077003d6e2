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
// The adapter registers itself when this module runs, before A-Frame
// initialises the scene (which waits for the document to be complete).

import * as synk from "./synk.js";

// A member that came back asks the others for their entities.
const hello = "naf.hello";
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
    let room;
    try {
      room = await synk.join(url, this.synkRoom(), { presence: { naf: 1 } });
    } catch (e) {
      NAF.log.error("synk adapter: join failed:", e.message);
      this.connectFailure?.(e.code ?? 0, e.message);
      return;
    }
    this.room = room;
    this.clientId = room.conn.client;
    room.on("join", () => this.updateOccupants());
    room.on("leave", () => this.updateOccupants());
    room.on("message", (e) => this.receive(e));
    room.on("reconnected", () => this.rejoined());
    room.on("closed", () => this.lost());
    this.syncClock(url);
    this.connectSuccess(this.clientId);
    this.updateOccupants();
  }

  // updateOccupants tells NAF who is in the room: the other members that
  // run this adapter.
  updateOccupants() {
    if (!this.room) return;
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
    this.occupantListener?.({});
    this.room.send(hello, 1).catch((e) => NAF.log.warn("synk adapter: hello:", e.message));
    this.updateOccupants();
  }

  // lost: the room is closed for good (the server refused this client).
  lost() {
    this.occupantListener?.({});
    this.room = null;
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
    this.messageListener?.(e.client, e.topic, e.data, "synk");
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
    // While disconnected a send fails: the reconnect's hello makes up for it.
    this.room.send(type, data, to ? { to } : {}).catch((e) => NAF.log.write("synk adapter: send:", e.message));
  }

  disconnect() {
    const room = this.room;
    this.room = null;
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

if (globalThis.NAF?.adapters) NAF.adapters.register("synk", SynkAdapter);
else console.error("synk-naf.js: load networked-aframe before it (NAF is not defined)");
