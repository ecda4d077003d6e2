// The Synk edge worker's JS entry: the glue between Cloudflare's Durable
// Objects and the Go room server (main_js.go). One Durable Object per
// room; each hosts one Go instance for its whole life.
import "./wasm_exec.js"; // syumai/workers' wasm_exec: a "context" global per Go instance
import mod from "./synk.wasm";

// roomOf returns the room a request is for, /ws/{room} or /synk/{room}
// with the name percent-decoded; "" for another path, null for a name
// that is not a room's (protocol.CheckRoom: 1 to 64 bytes of UTF-8
// without control characters or "/").
function roomOf(url) {
  const m = new URL(url).pathname.match(/^\/(ws|synk)\/([^/]+)$/);
  if (!m) return "";
  let name;
  try { name = decodeURIComponent(m[2]); } catch { return null; }
  const bytes = new TextEncoder().encode(name).length;
  return bytes > 64 || /[\u0000-\u001f\u007f-\u009f/]/.test(name) ? null : name;
}

export default {
  async fetch(req, env) {
    const room = roomOf(req.url);
    if (room === "") {
      return Response.json({ error: { code: 209, name: "NotFound", message: "use /ws/{room} or /synk/{room}" } }, { status: 404 });
    }
    if (room === null) {
      return Response.json({ error: { code: 201, name: "BadName", message: "a room name is 1 to 64 bytes of UTF-8 without control characters or \"/\", percent-encoded in the path" } }, { status: 400 });
    }
    return env.ROOMS.get(env.ROOMS.idFromName(room)).fetch(req);
  },
};

export class Room {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
    this.sockets = new Map(); // websocket → id in Go
    // The object's name is its room's (idFromName): Go starts at once,
    // before any event reaches the object.
    this.ready = ctx.blockConcurrencyWhile(() => this.start(ctx.id.name));
  }

  // start runs the Go program in a new instance with its own context.
  async start(room) {
    const go = new Go();
    let ready;
    const started = new Promise((resolve) => (ready = resolve));
    this.binding = { room };
    const instance = new WebAssembly.Instance(mod, { ...go.importObject, workers: { ready: () => ready() } });
    go.run(instance, { env: this.env, ctx: this.ctx, binding: this.binding });
    await started;
    if (this.binding.error) throw new Error("synk: " + this.binding.error);
  }

  async fetch(req) {
    await this.ready;
    if (req.headers.get("Upgrade") === "websocket") {
      const origin = req.headers.get("Origin") || "", host = new URL(req.url).host;
      const remote = req.headers.get("CF-Connecting-IP") || "edge";
      const pair = new WebSocketPair();
      const [client, server] = Object.values(pair);
      this.ctx.acceptWebSocket(server);
      // A page whose origin is refused gets its socket only to learn why:
      // a browser hides a refused upgrade's status from the page.
      const id = this.binding.checkOrigin(origin, host)
        ? this.binding.refuse(server, remote, origin, host)
        : this.binding.open(server, remote);
      if (id) this.sockets.set(server, id);
      return new Response(null, { status: 101, webSocket: client });
    }
    return this.binding.handleRequest(req);
  }

  // Websockets accepted before this Go instance started (the Durable
  // Object was evicted while they stayed open) have no session here: they
  // are closed with Shutdown (4300), and clients reconnect and resume.
  webSocketMessage(ws, msg) {
    const id = this.sockets.get(ws);
    if (id === undefined) return ws.close(4300, "the room restarted: reconnect");
    this.binding.message(id, msg);
  }

  webSocketClose(ws, code, reason) {
    const id = this.sockets.get(ws);
    this.sockets.delete(ws);
    if (id !== undefined) this.binding.closed(id, code, reason);
    // Complete the close handshake, or the client waits for it.
    try { ws.close(code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1000, "bye"); } catch {}
  }

  webSocketError(ws) {
    this.webSocketClose(ws, 1006, "websocket error");
  }
}
