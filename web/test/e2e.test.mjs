// Browser end-to-end tests: the demo pages and synk.js in headless
// Chromium against a real synk binary on loopback.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync, spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startSynk, startWorkerd, launchBrowser, openWorld, startRelay, synkBin, buildWithoutClient, startBinary, serveCDN } from "./harness.mjs";

const artifacts = join(dirname(fileURLToPath(import.meta.url)), "artifacts");
let synk, browser;

before(async () => {
  synk = await startSynk();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await synk?.stop();
});

/**
 * Opens a page of the synk server and joins room as client name, on the
 * page's own server or on url (a websocket URL); the room is window.room.
 */
async function joinPage(room, name, { url = "", presence } = {}) {
  const page = await browser.context.newPage();
  await page.goto(synk.url + "/observer");
  await page.evaluate(async ({ url, room, name, presence }) => {
    const synk = await import("/synk.js");
    const opts = { client: name, ...(presence ? { presence } : {}) };
    window.room = await (url ? synk.join(url, room, opts) : synk.join(room, opts));
  }, { url, room, name, presence });
  return page;
}

const otherNames = (page) => page.evaluate(() => [...window.synkWorld.others.values()].map((o) => o.name).sort());

test("two pages see each other, moves and leaves", async () => {
  const ann = await openWorld(browser.context, synk.url, "t1", "Ann");
  const bob = await openWorld(browser.context, synk.url, "t1", "Bob");
  await ann.waitForFunction(() => window.synkWorld.others.size === 1);
  await bob.waitForFunction(() => window.synkWorld.others.size === 1);
  assert.deepEqual(await otherNames(ann), ["Bob"]);
  assert.deepEqual(await otherNames(bob), ["Ann"]);

  const before = await bob.evaluate(() => [...window.synkWorld.others.values()][0].tx);
  const annX = await ann.evaluate(() => window.synkWorld.me.x);
  await ann.bringToFront();
  await ann.keyboard.down(annX > 500 ? "ArrowLeft" : "ArrowRight");
  await ann.waitForFunction((x) => Math.abs(window.synkWorld.me.x - x) > 60, annX);
  await ann.keyboard.up(annX > 500 ? "ArrowLeft" : "ArrowRight");
  await bob.waitForFunction((b) => Math.abs([...window.synkWorld.others.values()][0].tx - b) > 50, before);

  // The world's crates are shared objects: both pages hold the same three.
  await ann.waitForFunction(() => window.synkWorld.crates.size === 3);
  await bob.waitForFunction(() => window.synkWorld.crates.size === 3);
  // Ann pushes crate-1 (at 300,300) by walking into it from the left.
  await ann.evaluate(() => { window.synkWorld.me.x = 230; window.synkWorld.me.y = 300; });
  await ann.keyboard.down("ArrowRight");
  await bob.waitForFunction(() => (window.synkWorld.crates.get("crate-1")?.tx ?? 0) > 330);
  await ann.keyboard.up("ArrowRight");

  // Background tabs get no animation frames: bring Bob's forward and let
  // the crate glide to where Ann left it before the screenshot.
  await bob.bringToFront();
  await bob.waitForFunction(() => { const c = window.synkWorld.crates.get("crate-1"); return Math.abs(c.x - c.tx) < 2; });
  mkdirSync(artifacts, { recursive: true });
  await bob.screenshot({ path: join(artifacts, "world.png") });

  await ann.close();
  await bob.waitForFunction(() => window.synkWorld.others.size === 0);
  await bob.close();
});

test("the observer page lists members live and cannot write", async () => {
  const cy = await openWorld(browser.context, synk.url, "t2", "Cy");
  const obs = await browser.context.newPage();
  await obs.goto(`${synk.url}/observer`);
  await obs.waitForSelector('[data-room="t2"] .member', { timeout: 15000 });
  const code = await obs.evaluate(async () => {
    const room = window.synkObserver.joined.get("t2");
    try { await room.presence.set({ x: 1 }); return "wrote"; } catch (e) { return `${e.code} ${e.codeName}`; }
  });
  assert.equal(code, "204 ReadOnly");
  await cy.close();
  await obs.waitForFunction(() => !document.querySelector('[data-room="t2"] .member'));
  await obs.close();
});

test("the observer shows a member's entries in key order, rounded; the pages have an icon", async () => {
  const writer = await joinPage("t-obs", "w", { presence: { z: 1, a: 0.1 + 0.2 } });
  const obs = await browser.context.newPage();
  await obs.goto(`${synk.url}/observer`);
  const line = () => obs.textContent('[data-room="t-obs"] [data-client="w"] code', { timeout: 15000 });
  assert.equal(await line(), "a=0.3  z=1");
  await writer.evaluate(() => window.room.presence.set({ m: [0.1 + 0.2, 2], pose: new Float32Array([1.5, 0.1, -2]) }));
  await obs.waitForFunction(() => /pose/.test(document.querySelector('[data-room="t-obs"] [data-client="w"] code')?.textContent));
  assert.equal(await line(), "a=0.3  m=[0.3,2]  pose=<12 bytes>  z=1");
  for (const page of [obs, writer]) {
    const icon = await page.evaluate(async () => {
      const href = document.querySelector('link[rel="icon"]')?.href;
      const res = href && await fetch(href);
      return res ? `${res.status} ${res.headers.get("content-type")}` : "none";
    });
    assert.equal(icon, "200 image/svg+xml");
  }
  const ico = await fetch(`${synk.url}/favicon.ico`);
  assert.equal(ico.status, 200);
  await writer.close();
  await obs.close();
});

test("the observer shows each folder-sync device's status: files in sync, the path failing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "synk-folder-"));
  const dir2 = mkdtempSync(join(tmpdir(), "synk-folder-"));
  writeFileSync(join(dir, "a.txt"), "a");
  writeFileSync(join(dir, "b.txt"), "b");
  symlinkSync("elsewhere", join(dir, "x.txt")); // nas does not sync links: x.txt cannot be made there
  writeFileSync(join(dir2, "x.txt"), "xyz");
  // A real device: synk folder, running until killed.
  const dev = spawn(synkBin, ["folder", dir, "-room", "files", "-server", synk.url, "-device", "nas", "-progress", "off"], { stdio: "ignore" });
  const obs = await browser.context.newPage();
  try {
    await obs.goto(`${synk.url}/observer`);
    const sel = '[data-room="files"] [data-client="nas"] .folder';
    await obs.waitForFunction((sel) => /^folder synced · 2\/2 files/.test(document.querySelector(sel)?.textContent), sel, { timeout: 20000 });
    assert.equal(await obs.textContent('[data-room="files"] [data-client="nas"] code'), "", "the status is not shown again as raw entries");
    // Another device sends x.txt, which nas cannot take.
    execFileSync(synkBin, ["folder", dir2, "-room", "files", "-server", synk.url, "-device", "laptop", "-once", "-progress", "off", "-log-level", "error"]);
    await obs.waitForFunction((sel) => /failing/.test(document.querySelector(sel)?.textContent), sel, { timeout: 20000 });
    assert.match(await obs.textContent(sel), /^folder failing · 2\/3 files · 3 B left · 1 failing: x\.txt: not synced: .* · \d+ s ago$/);
  } finally {
    dev.kill();
    await obs.close();
  }
});

test("a page on another origin embeds the client only when allowed", async () => {
  const embedPage = (synkURL) => `<!doctype html><script type="module">
    import * as synk from "${synkURL}/synk.js";
    window.result = synk.join("embed", { presence: { hi: 1 } })
      .then((r) => "joined " + r.members().length, (e) => "refused " + e.codeName + " " + e.message);
  </script>`;
  const site = createServer((req, res) => {
    res.setHeader("Content-Type", "text/html");
    res.end(embedPage(decodeURIComponent(req.url.slice(1))));
  });
  await new Promise((r) => site.listen(0, "127.0.0.1", r));
  const origin = `localhost:${site.address().port}`;
  const closed = await startSynk("-same-origin-only");
  const open = await startSynk("-same-origin-only", "-origins", origin);
  try {
    // Refused, the page learns why, and the server log says which flag allows it.
    const refused = new RegExp(`^refused Forbidden .*origin http://${origin} is not allowed: add ${origin} to -origins \\(SYNK_ORIGINS\\)`);
    for (const [srv, want] of [[closed, refused], [open, /^joined 1$/]]) {
      const page = await browser.context.newPage();
      await page.goto(`http://${origin}/${encodeURIComponent(srv.url)}`);
      const result = await page.waitForFunction(() => window.result, null, { timeout: 15000 })
        .then(() => page.evaluate(() => window.result));
      assert.match(result, want);
      await page.close();
    }
    assert.match(closed.log(), new RegExp(`level=WARN msg="websocket refused: origin not allowed" origin=http://${origin}.*"allow with"="-origins ${origin}"`));
  } finally {
    await closed.stop();
    await open.stop();
    site.close();
  }
});

test("handlers may call back into the client without deadlock", async () => {
  const a = await joinPage("echo", "a");
  const b = await joinPage("echo", "b");
  // b answers every change of a from inside its handler: members() and set().
  await b.evaluate(() => window.room.on("change", (e) => {
    const seen = window.room.members().find((m) => m.client === "a").entries.n;
    window.room.presence.set({ echo: seen });
  }));
  const echoed = await a.evaluate(async () => {
    const got = [];
    window.room.on("change", (e) => { if (e.client === "b") got.push(e.entries.echo); });
    for (let i = 1; i <= 20; i++) await window.room.presence.set({ n: i });
    while (!got.includes(20)) await new Promise((r) => window.room.on("change", r));
    return got.at(-1);
  });
  assert.equal(echoed, 20);
  await a.close();
  await b.close();
});

// watchWorker makes a page about to be opened record what synk.js's
// worker sends it; batchKinds lists, per message, the kinds of the events
// it carried.
async function watchWorker(page) {
  await page.addInitScript(() => {
    window.workerBatches = [];
    const W = window.Worker;
    window.Worker = class extends W {
      constructor(...args) {
        super(...args);
        this.addEventListener("message", ({ data }) => { if (data.b) window.workerBatches.push(data.b); });
      }
    };
  });
}

const batchKinds = (page) => page.evaluate(async () => {
  const { decode } = await import("/synk-codec.js");
  return window.workerBatches.map((bs) => bs.flatMap((b) => decode(b).map((e) => e.kind)));
});

test("the client runs in a worker and hands the page each websocket message's events at once", async () => {
  // 30 members join through the HTTP API; a page joining gets them in one
  // Joined frame: 30 join events in one message from the worker.
  for (let i = 0; i < 30; i++) {
    const res = await fetch(synk.url + "/synk/crowd", { method: "POST", body: JSON.stringify({ c: "m" + i, d: [{ k: "x", v: i }] }) });
    assert.equal(res.status, 200, await res.text());
  }
  const page = await browser.context.newPage();
  await watchWorker(page);
  await page.goto(synk.url + "/synk.d.ts"); // a page of the server's origin with no client of its own
  const seen = await page.evaluate(async () => {
    const synk = await import("/synk.js");
    window.room = await synk.join("crowd", { client: "page" });
    return {
      members: window.room.members().length,
      x7: window.room.members().find((m) => m.client === "m7")?.entries.x,
      // No Go on the page's thread: neither wasm_exec.js's Go nor the bridge.
      goOnPage: typeof window.Go !== "undefined" || typeof window.__synk !== "undefined",
    };
  });
  assert.deepEqual(seen, { members: 31, x7: 7, goOnPage: false });
  const joins = (await batchKinds(page)).map((kinds) => kinds.filter((k) => k === "join").length);
  assert.ok(joins.some((n) => n >= 30), `the 30 joins came in messages of ${joins}`);

  // Deliver "frame": a burst of 100 changes reaches a page in at most one
  // message per animation frame, not one per websocket message.
  const watcher = await browser.context.newPage();
  await watchWorker(watcher);
  await watcher.goto(synk.url + "/synk.d.ts");
  await watcher.evaluate(async () => {
    const synk = await import("/synk.js");
    window.room = await synk.join("crowd", { client: "watcher", observer: true, deliver: "frame" });
    window.changes = 0;
    window.room.on("change", (e) => { if (e.client === "page") window.changes++; });
    window.frames = 0;
    const count = () => { window.frames++; if (window.changes < 100) requestAnimationFrame(count); };
    requestAnimationFrame(count);
  });
  const before = (await batchKinds(watcher)).length;
  await page.evaluate(() => Promise.all(Array.from({ length: 100 }, (_, i) => window.room.presence.set({ n: i }))));
  await watcher.waitForFunction(() => window.changes === 100);
  const messages = (await batchKinds(watcher)).slice(before).filter((kinds) => kinds.includes("change")).length;
  const frames = await watcher.evaluate(() => window.frames);
  assert.ok(messages <= frames + 3, `100 changes came in ${messages} messages over ${frames} frames`);
  assert.equal(await watcher.evaluate(() => window.room.members().find((m) => m.client === "page").entries.n), 99);

  // A hidden page gets no animation frames: its events still come.
  await watcher.workers()[0].evaluate(() => { self.requestAnimationFrame = () => 1; self.cancelAnimationFrame = () => {}; });
  await page.evaluate(() => window.room.presence.set({ n: "hidden" }));
  await watcher.waitForFunction(() => window.room.members().find((m) => m.client === "page").entries.n === "hidden");

  // Nor does a hidden page gather events without bound: past 1 MiB queued
  // the worker hands them over at once. 70 changes of ~60 KB (4 MB) come
  // in within the worker's 250 ms wait; no hand-off carries much over 1 MiB.
  const from = await watcher.evaluate(() => window.workerBatches.length);
  const blob = "x".repeat(15000);
  for (let i = 0; i < 70; i++) {
    const res = await fetch(synk.url + "/synk/crowd", { method: "POST", body: JSON.stringify({ c: "big", d: [0, 1, 2, 3].map((k) => ({ k: "b" + k, v: blob + i })) }) });
    assert.equal(res.status, 200, await res.text());
  }
  await watcher.waitForFunction(() => window.room.members().find((m) => m.client === "big")?.entries.b0.endsWith("x69"), null, { timeout: 15000 });
  const sizes = await watcher.evaluate((from) => window.workerBatches.slice(from).map((bs) => bs.reduce((n, b) => n + b.byteLength, 0)), from);
  const total = sizes.reduce((a, b) => a + b, 0);
  assert.ok(total > 4e6, `${total} bytes handed over`);
  assert.ok(Math.max(...sizes) < 1.2 * (1 << 20), `hand-offs of ${sizes} bytes: one gathered far past 1 MiB`);
  await watcher.close();
  await page.close();
});

test("the page compiles the client while the worker starts, and the worker takes that module", async () => {
  // A fresh browser: nothing cached, every fetch of the client is seen.
  // Were the page's module not used, the worker would fetch it again.
  const fresh = await launchBrowser();
  try {
    const fetched = [];
    fresh.context.on("request", (r) => { if (r.url().endsWith(".wasm")) fetched.push(r.url()); });
    const page = await openWorld(fresh.context, synk.url, "compiled", "C");
    assert.equal(fetched.length, 1, `synk.wasm fetched ${fetched.length} times: ${fetched}`);
    assert.match(fetched[0], /\/synk\.[0-9a-f]{16}\.wasm$/, "the content-hashed name");
    await page.close();
  } finally {
    await fresh.close();
  }
});

test("the worker gathers a backlog of websocket messages into one crossing, and a close comes after them", async () => {
  const page = await browser.context.newPage();
  await page.goto(synk.url + "/synk.d.ts");
  await page.evaluate(async () => { const synk = await import("/synk.js"); await synk.join("listen", { observer: true }); });
  // __synkListen on a socket of our own making, in the worker itself.
  const got = await page.workers()[0].evaluate(async () => {
    const parse = (b) => {
      const v = new DataView(b.buffer, b.byteOffset, b.length), out = [];
      for (let at = 0; at < b.length;) {
        const n = v.getUint32(at);
        if (n === 0xffffffff) { out.push("text"); at += 4; } else { out.push([...b.subarray(at + 4, at + 4 + n)]); at += 4 + n; }
      }
      return out;
    };
    const ws = new EventTarget(), log = [];
    const send = (data) => ws.dispatchEvent(new MessageEvent("message", { data }));
    const remove = self.__synkListen(ws, (b) => log.push(parse(b)));
    ws.addEventListener("close", () => log.push("close")); // Go's close listener comes after
    // Three messages in one task, then the task that the first one's timer runs.
    send(new Uint8Array([1, 2]).buffer); send("text"); send(new Uint8Array([3]).buffer);
    const inTask = log.length;
    await new Promise((r) => setTimeout(r, 0));
    const backlog = log.splice(0);
    // A message, and the close in the same task: the message goes first.
    send(new Uint8Array([4]).buffer); ws.dispatchEvent(new Event("close"));
    const closing = log.splice(0);
    // A MiB goes at once.
    send(new Uint8Array(1 << 20).buffer);
    const big = log.splice(0).map((b) => b.map((m) => m.length));
    // Removed: nothing more.
    remove(); send(new Uint8Array([5]).buffer); ws.dispatchEvent(new Event("close"));
    await new Promise((r) => setTimeout(r, 0));
    return { inTask, backlog, closing, big, after: log };
  });
  assert.deepEqual(got, {
    inTask: 0,
    backlog: [[[1, 2], "text", [3]]],
    closing: [[[4]], "close"],
    big: [[1 << 20]],
    after: ["close"],
  });
  await page.close();
});

// liveConns counts the page's synk.js Conn objects that a full garbage
// collection leaves (DevTools' queryObjects).
async function liveConns(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("HeapProfiler.collectGarbage");
    const { result: proto } = await cdp.send("Runtime.evaluate", { expression: "import('/synk.js').then((m) => m.Conn.prototype)", awaitPromise: true });
    const { objects } = await cdp.send("Runtime.queryObjects", { prototypeObjectId: proto.objectId });
    const { result } = await cdp.send("Runtime.callFunctionOn", { objectId: objects.objectId, functionDeclaration: "function () { return this.length; }", returnByValue: true });
    return result.value;
  } finally {
    await cdp.detach();
  }
}

test("closed connections leave nothing behind, and one closed for good is not handed out again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "synk-auth-"));
  const secret = join(dir, "secret");
  writeFileSync(secret, "a development secret of 32 bytes");
  const token = (ttl) => execFileSync(synkBin, ["token", "-key", secret, "-sub", "ann", "-ttl", ttl, "-room", "lobby=presence"], { encoding: "utf8" }).trim();
  const authed = await startSynk("-auth-key", secret);
  try {
    const page = await browser.context.newPage();
    await page.goto(authed.url + "/synk.d.ts");
    // Ten connections, each closed with its last room.
    await page.evaluate(async (token) => {
      const synk = await import("/synk.js");
      for (let i = 0; i < 10; i++) {
        const room = await synk.join("lobby", { token, store: "s" + i });
        await room.close();
      }
    }, token("1h"));
    assert.equal(await liveConns(page), 0, "Conn objects alive after ten connections closed");
    // A token that expires: the server ends the session with Unauthorized,
    // a terminal code, and the connection is closed for good.
    const got = await page.evaluate(async (token) => {
      const synk = await import("/synk.js");
      const room = await synk.join("lobby", { token });
      const closed = await new Promise((resolve) => room.conn.on("closed", (e) => resolve(e.error?.codeName)));
      return { closed, again: (await synk.connect(undefined, { token })) !== room.conn };
    }, token("1s"));
    assert.deepEqual(got, { closed: "Unauthorized", again: true });
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0))); // the worker's answer to the close
    assert.equal(await liveConns(page), 0, "Conn objects alive after the expired one");
    await page.close();
  } finally {
    await authed.stop();
  }
});

test("when the Go program in the worker stops, the page's calls fail, its rooms close, and a new join starts afresh", async () => {
  const page = await browser.context.newPage();
  await page.goto(synk.url + "/synk.d.ts");
  await page.evaluate(async () => {
    const synk = await import("/synk.js");
    window.room = await synk.join("crash", { client: "before" });
    window.roomClosed = new Promise((resolve) => window.room.on("closed", (e) => resolve(e.error?.message)));
  });
  // Make Go panic in the worker: a second connection, whose event
  // callback throws, joins the room and gets "before"'s join event. The
  // page then ends the worker, and this call with it.
  const [worker] = page.workers();
  await worker.evaluate(async (url) => {
    const c = await globalThis.__synk.dial(url, {}, () => { throw new Error("boom"); });
    await globalThis.__synk.join(c.id, "crash", false, null);
  }, synk.url.replace(/^http/, "ws") + "/ws").catch(() => {});
  const got = await page.evaluate(async () => ({
    closed: await window.roomClosed,
    set: await window.room.presence.set({ x: 1 }).then(() => "resolved", (e) => e.message),
  }));
  assert.match(got.closed, /the client stopped \(exit 2\)/);
  assert.match(got.set, /the client stopped/);
  const again = await page.evaluate(async () => {
    const synk = await import("/synk.js");
    const room = await synk.join("crash", { client: "after" });
    return room.members().map((m) => m.client);
  });
  assert.ok(again.includes("after"), `members after the restart: ${again}`);
  await page.close();
});

test("a server with auth takes a page's token and refuses a page without one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "synk-auth-"));
  const secret = join(dir, "secret");
  writeFileSync(secret, "a development secret of 32 bytes");
  const token = execFileSync(synkBin, ["token", "-key", secret, "-sub", "ann", "-room", "lobby=presence"], { encoding: "utf8" }).trim();
  const authed = await startSynk("-auth-key", secret);
  try {
    const page = await browser.context.newPage();
    await page.goto(authed.url + "/observer");
    const got = await page.evaluate(async (token) => {
      const synk = await import("/synk.js");
      const out = {};
      try { await synk.join("lobby", {}); out.none = "joined"; } catch (e) { out.none = e.codeName; }
      const room = await synk.join("lobby", { token });
      out.client = room.conn.client;
      try { await synk.join("attic", { token }); out.attic = "joined"; } catch (e) { out.attic = e.codeName; }
      return out;
    }, token);
    assert.deepEqual(got, { none: "Unauthorized", client: "ann", attic: "Forbidden" });
    await page.close();
  } finally {
    await authed.stop();
  }
});

test("two pages see each other through a room at the edge (workerd)", async () => {
  const edge = await startWorkerd();
  try {
    const ws = edge.url.replace("http", "ws") + "/ws/edge-room";
    const a = await joinPage("edge-room", "ann", { url: ws, presence: { name: "ann" } });
    const b = await joinPage("edge-room", "bob", { url: ws, presence: { name: "bob" } });
    const seen = a.evaluate(() => new Promise((resolve) => {
      const check = () => { const bob = window.room.members().find((m) => m.client === "bob"); if (bob?.entries.x === 5) resolve(bob.entries); };
      window.room.on("join", check);
      window.room.on("change", check);
      check();
    }));
    await b.evaluate(() => window.room.presence.set({ x: 5 }));
    assert.deepEqual(await seen, { name: "bob", x: 5 });
    await a.close();
    await b.close();
  } finally {
    await edge.stop();
  }
});

test("pages send messages to the room and to one member; observers get the room's; none is kept", async () => {
  const ada = await joinPage("chat", "ada");
  const joe = await joinPage("chat", "joe");
  const eve = await browser.context.newPage();
  await eve.goto(synk.url + "/observer");
  await eve.evaluate(async () => {
    const synk = await import("/synk.js");
    window.room = await synk.join("chat", { client: "eve", observer: true });
  });
  for (const p of [ada, joe, eve]) {
    await p.evaluate(() => {
      window.got = [];
      window.room.on("message", (e) => window.got.push(e));
    });
  }
  await ada.evaluate(() => window.room.send("pose", { p: new Float32Array([1, 2, 3]), n: 7 }));
  await ada.evaluate(() => window.room.send("nudge", "psst", { to: "joe" }));
  await joe.waitForFunction(() => window.got.length === 2);
  await eve.waitForFunction(() => window.got.length === 1);
  const seen = (p) => p.evaluate(() => window.got.map((e) => ({ ...e, data: e.data?.p ? { p: [...new Float32Array(e.data.p.buffer)], n: e.data.n } : e.data })));
  assert.deepEqual(await seen(joe), [
    { kind: "message", room: "chat", client: "ada", topic: "pose", data: { p: [1, 2, 3], n: 7 } },
    { kind: "message", room: "chat", client: "ada", topic: "nudge", data: "psst", direct: true },
  ]);
  assert.deepEqual(await seen(eve), [{ kind: "message", room: "chat", client: "ada", topic: "pose", data: { p: [1, 2, 3], n: 7 } }]);

  // Refusals reject with the server's code; an observer cannot send.
  const refusal = (p, f) => p.evaluate((f) => new Function("return " + f)()().then(() => "sent", (e) => e.codeName), f.toString());
  assert.equal(await refusal(ada, () => window.room.send("hi", 1, { to: "nobody" })), "NotFound");
  assert.equal(await refusal(eve, () => window.room.send("hi", 1)), "ReadOnly");

  // A page that joins later gets none of the earlier messages.
  const late = await joinPage("chat", "late");
  await late.evaluate(() => { window.got = []; window.room.on("message", (e) => window.got.push(e.topic)); });
  await joe.evaluate(() => window.room.send("after", 1));
  await late.waitForFunction(() => window.got.length > 0);
  assert.deepEqual(await late.evaluate(() => window.got), ["after"]);
  for (const p of [ada, joe, eve, late]) await p.close();
});

test("the /three example: pages see each other's avatar move, receive only the cubes near them, and a pushed cube moves for both", async () => {
  // three.js comes from a CDN, pinned by integrity: here the same files
  // come from npm (web/test/vendor, .ci/deps.sh).
  const stopCDN = await serveCDN(browser.context);
  const open = async () => {
    const page = await browser.context.newPage();
    page.on("pageerror", (e) => console.error("[three page] error:", e.message));
    await page.goto(synk.url + "/three?room=three1");
    await page.waitForFunction(() => window.synkThree?.ready, null, { timeout: 20000 });
    return page;
  };
  try {
    const ann = await open();
    const bob = await open();
    for (const p of [ann, bob]) await p.waitForFunction(() => window.synkThree.others.size === 1, null, { timeout: 15000 });
    // Bob stands at the origin (areas c-1..c1), Ann walks 25 m east (c1..c3).
    await bob.evaluate(() => window.synkThree.moveTo(0, 0));
    await ann.evaluate(() => window.synkThree.moveTo(25, 0));
    await bob.waitForFunction(() => [...window.synkThree.others.values()].some((o) => Math.abs(o.mesh.position.x - 25) < 0.1), null, { timeout: 15000 });
    const cubesOf = (p) => p.evaluate(() => [...window.synkThree.cubes.keys()].sort());
    await ann.waitForFunction(() => [...window.synkThree.cubes.keys()].join() === "cube-4", null, { timeout: 15000 });
    await bob.waitForFunction(() => [...window.synkThree.cubes.keys()].sort().join() === "cube-1,cube-2,cube-3,cube-4", null, { timeout: 15000 });
    assert.deepEqual(await cubesOf(ann), ["cube-4"], "Ann, 25 m east, receives only the cube in her cells");
    // Bob pushes cube-4 (at x 12) a metre away from him; Ann sees it at 13.
    await bob.evaluate(() => window.synkThree.pushCube("cube-4"));
    await ann.waitForFunction(() => Math.abs(window.synkThree.cubes.get("cube-4").position.x - 13) < 0.01, null, { timeout: 15000 });
    await bob.bringToFront();
    await bob.screenshot({ path: fileURLToPath(new URL("./artifacts/three.png", import.meta.url)) });
    await ann.close();
    await bob.close();
  } finally {
    await stopCDN();
  }
});

test("a Float32Array pose travels as its 28 bytes and reads back", async () => {
  const a = await joinPage("pose", "a");
  const b = await joinPage("pose", "b");
  const got = b.evaluate(() => new Promise((resolve) => window.room.on("change", (e) => {
    const u = e.entries.pose;
    resolve({ bin: u instanceof Uint8Array, len: u.length, pose: [...new Float32Array(u.buffer)] });
  })));
  await a.evaluate(() => window.room.presence.set({ pose: new Float32Array([0.25, 1.5, -3.5, 0, 0.5, 0, 1]) }));
  assert.deepEqual(await got, { bin: true, len: 28, pose: [0.25, 1.5, -3.5, 0, 0.5, 0, 1] });
  await a.close();
  await b.close();
});

test("an object moved across areas leaves the other page's view", async () => {
  const open = async (name) => {
    const page = await browser.context.newPage();
    await page.goto(synk.url + "/observer");
    await page.evaluate(async (name) => {
      const synk = await import("/synk.js");
      window.room = await synk.join("objs", { client: name });
      window.seen = [];
      window.room.on("object", (e) => window.seen.push(`${e.op} ${e.object} ${e.area ?? ""}`.trim()));
    }, name);
    return page;
  };
  const mover = await open("mover");
  const watcher = await open("watcher");
  await watcher.evaluate(() => window.room.objects.subscribe(["west"]));
  const v = await mover.evaluate(() => window.room.objects.create("crate", "crate", "west", { mass: 40 }));
  assert.equal(v, 1);
  await watcher.waitForFunction(() => window.room.objects.get("crate")?.fields.mass === 40);
  await mover.evaluate(() => window.room.objects.move("crate", "east"));
  await watcher.waitForFunction(() => window.room.objects.list().length === 0);
  assert.deepEqual(await watcher.evaluate(() => window.seen), ["put crate west", "remove crate"]);
  const stale = await mover.evaluate(() =>
    window.room.objects.update("crate", { mass: 1 }, { expect: 1 }).then(() => "ok", (e) => e.codeName));
  assert.equal(stale, "Stale");
  await mover.close();
  await watcher.close();
});

test("a write made offline survives a closed tab and goes out from the next page", async () => {
  const relay = await startRelay(new URL(synk.url).host);
  const wsURL = `ws://127.0.0.1:${relay.port}/ws`;
  const open = async (name) => {
    const page = await browser.context.newPage();
    page.on("pageerror", (e) => console.error(`[${name}] page error:`, e.message));
    await page.goto(synk.url + "/observer");
    await page.evaluate(async ({ wsURL, name }) => {
      const synk = await import("/synk.js");
      window.events = [];
      window.room = await synk.join(wsURL, "offline", { client: name, store: "e2e-offline" });
      for (const kind of ["object", "written", "reset", "disconnected"]) {
        window.room.on(kind, (e) => window.events.push(`${kind} ${e.op ?? ""} ${e.object ?? ""} ${e.version ?? ""}`.replace(/ +/g, " ").trim()));
      }
    }, { wsURL, name });
    return page;
  };
  try {
    const first = await open("tab");
    await first.evaluate(async () => {
      await window.room.objects.subscribe(["hall"]);
      await window.room.objects.create("box", "crate", "hall", { n: 0 });
      await window.room.objects.create("lamp", "item", "hall", { on: false });
    });
    // The cache reaches IndexedDB within the flush interval; once the lamp
    // is there, so are the position and areas it goes with (one
    // transaction).
    await first.evaluate(async () => {
      const stored = () => new Promise((resolve) => {
        const req = indexedDB.open("synk:e2e-offline");
        req.onsuccess = () => {
          const get = req.result.transaction("kv").objectStore("kv").getKey("o\0offline\0lamp");
          get.onsuccess = () => { req.result.close(); resolve(get.result !== undefined); };
        };
      });
      while (!(await stored())) await new Promise((r) => setTimeout(r, 50)); // poll the store, as waitForFunction polls
    });
    relay.down();
    await first.waitForFunction(() => window.events.includes("disconnected"));
    // Offline: the write waits in the outbox, which is in IndexedDB once
    // pending() lists it.
    await first.evaluate(() => { window.room.objects.update("box", { n: 1 }).catch(() => {}); });
    await first.waitForFunction(() => window.room.objects.pending().length === 1);
    assert.deepEqual(await first.evaluate(() => window.room.objects.pending()), [{ op: "update", object: "box" }]);
    await first.close();

    relay.up();
    const second = await open("tab");
    await second.waitForFunction(() => window.events.some((e) => e.startsWith("written box")));
    const state = await second.evaluate(() => ({
      box: window.room.objects.get("box"),
      lamp: window.room.objects.get("lamp"),
      pending: window.room.objects.pending(),
      events: window.events,
    }));
    assert.equal(state.box.fields.n, 1);
    assert.equal(state.box.version, 2);
    assert.equal(state.lamp.fields.on, false);
    assert.deepEqual(state.pending, []);
    // The cache and its areas came from IndexedDB (puts at the stored
    // versions, delivered once the join resolved) and resumed: no reset,
    // and the update of box is the only change the server sent (a snapshot
    // would have put box again at version 2). (The creates may be answered
    // again if the tab closed before the store learned of their answers.)
    assert.deepEqual(state.events.filter((e) => !e.startsWith("written lamp 1") && !e.startsWith("written box 1")),
      ["object put box 1", "object put lamp 1", "object update box 2", "written box 2"]);
    await second.close();
  } finally {
    await relay.close();
  }
});

test("pages meet each other and an HTTP client; an aborted meet is withdrawn", async () => {
  const open = async (name) => {
    const page = await browser.context.newPage();
    await page.goto(synk.url + "/observer");
    await page.evaluate(async (name) => {
      window.synk = await import("/synk.js");
      window.room = await window.synk.join("meetings", { client: name });
    }, name);
    return page;
  };
  const ann = await open("ann");
  const bob = await open("bob");
  // In the room: a game maker waits for two players; Ann and Bob are both.
  const maker = fetch(`${synk.url}/event?input=yaml&room=meetings`, {
    method: "POST", body: '{event: joinGame, payload: "gameid=7", actor: gameMaker, mates: 2}',
  }).then((r) => r.json());
  const [a, b] = await Promise.all([
    ann.evaluate(() => window.room.meet({ event: "joinGame", actor: "ann", payload: "p1", mates: 2 })),
    bob.evaluate(() => window.room.meet({ event: "joinGame", actor: "bob", payload: "p2", mates: 2 })),
  ]);
  const want = { gameMaker: "gameid=7", ann: "p1", bob: "p2" };
  assert.deepEqual(a, want);
  assert.deepEqual(b, want);
  assert.deepEqual((await maker).payloads, want);

  // Server-wide, with a selector; an aborted request rejects and leaves.
  const aborted = await ann.evaluate(async () => {
    const ctl = new AbortController();
    const p = window.synk.connect(undefined, { client: "ann" }).then((c) => c.meet({ event: "solo", actor: "ann", signal: ctl.signal }));
    setTimeout(() => ctl.abort(), 50);
    return p.then(() => "met", (e) => e.message);
  });
  assert.match(aborted, /canceled/);
  const stats = await (await fetch(`${synk.url}/stats`)).json();
  assert.deepEqual(stats, {});
  const expired = await bob.evaluate(() =>
    window.room.meet({ event: "nobody", actor: "bob", timeout: 30 }).then(() => "met", (e) => e.codeName));
  assert.equal(expired, "Expired");
  await ann.close();
  await bob.close();
});

test("a page given several addresses joins through the first that answers", async () => {
  const wsURL = synk.url.replace(/^http/, "ws") + "/ws";
  const dead = "ws://127.0.0.1:1/ws"; // nothing listens on port 1
  const amy = await joinPage("multi", "Amy", { url: [dead, wsURL] });
  const ben = await joinPage("multi", "Ben");
  await ben.waitForFunction(() => window.room.members().some((m) => m.client === "Amy"));
  await amy.waitForFunction(() => window.room.members().some((m) => m.client === "Ben"));
  await amy.close();
  await ben.close();
});

test("after the server restarts, a page is itself once: no ghost of its old self", async () => {
  const first = await startSynk();
  const relay = await startRelay(new URL(first.url).host);
  const second = await startSynk();
  try {
    const solo = await openWorld(browser.context, `http://127.0.0.1:${relay.port}`, "ghost", "Solo");
    const id = await solo.evaluate(() => window.synkWorld.room.conn.client);
    relay.retarget(new URL(second.url).host);
    await first.stop(); // the page reconnects, through the relay, to the second server
    const bob = await openWorld(browser.context, second.url, "ghost", "Bob");
    await solo.waitForFunction(() => [...window.synkWorld.others.values()].some((o) => o.name === "Bob"));
    assert.deepEqual(await otherNames(solo), ["Bob"], "the page sees itself as another member");
    assert.equal(await solo.evaluate(() => window.synkWorld.room.conn.client), id);
    assert.deepEqual(await otherNames(bob), ["Solo"]);
    await solo.close();
    await bob.close();
  } finally {
    await relay.close();
    await second.stop();
  }
});

test("a binary built without the browser client says so, and its pages say why", async () => {
  const bare = await startBinary(buildWithoutClient(), []);
  try {
    assert.match(bare.log(), /level=WARN msg="no browser client.*make build/);
    for (const path of ["/", "/observer"]) {
      const page = await browser.context.newPage();
      await page.goto(bare.url + path);
      await page.waitForFunction(() => /make build/.test(document.getElementById("status").textContent), null, { timeout: 15000 });
      assert.match(await page.textContent("#status"), /^error: Unsupported: this synk binary was built without the browser client/);
      await page.close();
    }
  } finally {
    await bare.stop();
  }
});
