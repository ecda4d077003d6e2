// Browser end-to-end tests: the demo pages and synk.js in headless
// Chromium against a real synk binary on loopback.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startSynk, launchBrowser, openWorld } from "./harness.mjs";

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

test("a page on another origin embeds the client only when allowed", async () => {
  const embedPage = (synkURL) => `<!doctype html><script type="module">
    import * as synk from "${synkURL}/synk.js";
    window.result = synk.join("embed", { presence: { hi: 1 } })
      .then((r) => "joined " + r.members().length, (e) => "refused " + e.message);
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
    for (const [srv, want] of [[closed, /^refused/], [open, /^joined 1$/]]) {
      const page = await browser.context.newPage();
      await page.goto(`http://${origin}/${encodeURIComponent(srv.url)}`);
      const result = await page.waitForFunction(() => window.result, null, { timeout: 15000 })
        .then(() => page.evaluate(() => window.result));
      assert.match(result, want);
      await page.close();
    }
  } finally {
    await closed.stop();
    await open.stop();
    site.close();
  }
});

test("handlers may call back into the client without deadlock", async () => {
  const open = async (name) => {
    const page = await browser.context.newPage();
    await page.goto(synk.url + "/observer");
    await page.evaluate(async (name) => {
      const synk = await import("/synk.js");
      window.room = await synk.join("echo", { client: name });
    }, name);
    return page;
  };
  const a = await open("a");
  const b = await open("b");
  // b answers every change of a from inside its handler: members() and set().
  await b.evaluate(() => window.room.on("change", (e) => {
    const seen = window.room.members().find((m) => m.client === "a").values.n;
    window.room.presence.set({ echo: seen });
  }));
  const echoed = await a.evaluate(async () => {
    const got = [];
    window.room.on("change", (e) => { if (e.client === "b") got.push(e.values.echo); });
    for (let i = 1; i <= 20; i++) await window.room.presence.set({ n: i });
    while (!got.includes(20)) await new Promise((r) => window.room.on("change", r));
    return got.at(-1);
  });
  assert.equal(echoed, 20);
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
