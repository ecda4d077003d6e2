// A typed use of synk.js as a page would write it: `make lint` compiles it
// against synk.d.ts (tsc), so the declarations stay usable and complete.
import * as synk from "../static/synk.js";

export async function usage(): Promise<void> {
  await synk.load();
  await synk.load({ base: "/vendor/synk/" }); // a bundled page: where the worker and wasm are
  await synk.load({ base: new URL("https://cdn.example.com/synk/") });
  const url: string = synk.defaultURL();
  const conn: synk.Conn = await synk.connect([url, "ws://127.0.0.1:8081/ws"], { client: "ada", store: "s", token: "t" });
  const room: synk.Room = await conn.join("lobby", { observer: false, presence: { pose: new Float32Array(7), name: "Ada" } });
  const again: synk.Room = await synk.join("lobby", { presence: { x: 1 }, client: "ada" });
  await synk.join(url, "lobby", { observer: true, deliver: "frame" });
  const members: synk.Member[] = room.members();
  members.forEach((m) => m.entries["name"]);
  await room.presence.set({ x: 1, nested: { y: [1, "two", null] } });
  await room.presence.delete("x");
  const off: () => void = room.on("join", (e: synk.SynkEvent) => e.client && e.entries && e.error?.codeName);
  off();
  room.on("object", (e: synk.ObjectEvent) => e.op === "put" && e.fields);
  room.on("written", (e: synk.WrittenEvent) => e.error?.code);
  room.on("message", (e: synk.MessageEvent) => [e.client, e.topic, e.data, e.direct === true]);
  await room.send("u", { x: 1 });
  await room.send("hi", new Float32Array(7), { to: "joe" });
  room.on("reset", (e: synk.ResetEvent) => e.room);
  conn.on("disconnected", (e) => e.error?.message);
  await room.objects.subscribe(["a"], []);
  const objs: synk.SynkObject[] = room.objects.list();
  const version: number = await room.objects.create("c1", "crate", "a", { x: 1 });
  await room.objects.update("c1", { x: 2 }, { delete: ["y"], expect: version });
  await room.objects.move("c1", "b", { expect: version + 1 });
  await room.objects.delete("c1");
  room.objects.pending().forEach((w: synk.PendingWrite) => w.op);
  objs.forEach((o) => o.fields["x"]);
  const met: { [actor: string]: string } = await conn.meet({ event: "e", actor: "a", mates: 2, signal: new AbortController().signal });
  await room.meet({ event: "e", actor: met["a"] ?? "b" });
  await again.close();
  await conn.close();
}
