// The Networked-A-Frame adapter (synk-naf.js, issue 21) with the real
// thing: aframe 1.8.0 and networked-aframe 0.14.3 from npm (.ci/deps.sh
// puts their dist files in web/test/vendor), served from a site of their
// own on loopback, in headless Chromium, against synk servers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startSynk, launchBrowser, startRelay, startSceneSite, serveCDN } from "./harness.mjs";

let browser, site;

before(async () => {
  site = await startSceneSite();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  site?.close();
});

const openScene = (synkHTTP, room, x, naf) => site.open(browser.context, synkHTTP, room, x, naf);

// entities lists a page's networked entities: [{owner, mine, x}].
const entities = (page) => page.evaluate(() => Object.values(NAF.entities.entities).map((el) => ({
  owner: NAF.utils.getNetworkOwner(el), mine: NAF.utils.isMine(el), x: Math.round(el.object3D.position.x * 10) / 10,
})));

// waitOthers waits until page holds, besides its own avatar, exactly one
// avatar of each of owners.
async function waitOthers(page, owners) {
  await page.waitForFunction((owners) => {
    const es = Object.values(NAF.entities.entities).filter((el) => !NAF.utils.isMine(el)).map((el) => NAF.utils.getNetworkOwner(el)).sort();
    return JSON.stringify(es) === JSON.stringify([...owners].sort());
  }, owners, { timeout: 20000 });
}

const idOf = (page) => page.evaluate(() => NAF.clientId);

test("NAF pages on the synk adapter see each other's avatars move, and a closed page's go", async () => {
  const synk = await startSynk();
  try {
    const pages = [];
    for (const x of [-2, 0, 2]) pages.push(await openScene(synk.url, "naf1", x));
    const ids = await Promise.all(pages.map(idOf));
    for (const [i, p] of pages.entries()) await waitOthers(p, ids.filter((_, j) => j !== i));

    // The first page moves its avatar: the others see it arrive there.
    await pages[0].evaluate(() => document.getElementById("me").setAttribute("position", "5 1.6 -3"));
    for (const p of pages.slice(1)) {
      await p.waitForFunction((id) => Object.values(NAF.entities.entities)
        .some((el) => NAF.utils.getNetworkOwner(el) === id && Math.abs(el.object3D.position.x - 5) < 0.05), ids[0], { timeout: 20000 });
    }
    await pages[1].screenshot({ path: join(dirname(fileURLToPath(import.meta.url)), "artifacts", "naf-scene.png") });

    // The third page closes: its avatar leaves the other two.
    await pages[2].close();
    for (const p of pages.slice(0, 2)) await waitOthers(p, ids.slice(0, 2).filter((id) => id !== ids[pages.indexOf(p)]));
    for (const p of pages.slice(0, 2)) await p.close();
  } finally {
    await synk.stop();
  }
});

for (const [mode, naf] of [["", ""], [" (areas on)", "areas: true; follow: #me"]]) {
test(`after a server restart each NAF page holds exactly one avatar of every other, and is itself once${mode}`, async () => {
  const first = await startSynk();
  const relay = await startRelay(new URL(first.url).host);
  const second = await startSynk();
  let firstUp = true;
  try {
    const via = `http://127.0.0.1:${relay.port}`;
    const pages = [await openScene(via, "naf2", -1, naf), await openScene(via, "naf2", 1, naf)];
    const ids = await Promise.all(pages.map(idOf));
    await waitOthers(pages[0], [ids[1]]);
    await waitOthers(pages[1], [ids[0]]);

    relay.retarget(new URL(second.url).host);
    firstUp = false;
    await first.stop(); // both pages reconnect, through the relay, to the second server
    // Each page moves after the restart, so that the others' copies must
    // come from the new server.
    await pages[0].evaluate(() => document.getElementById("me").setAttribute("position", "-4 1.6 -3"));
    for (const [i, p] of pages.entries()) {
      await p.waitForFunction(() => window.NAF.connection.adapter.room?.members().length === 2, null, { timeout: 20000 });
      await waitOthers(p, [ids[1 - i]]);
      assert.equal(await idOf(p), ids[i], "the page keeps its client id");
      const mine = (await entities(p)).filter((e) => e.mine);
      assert.equal(mine.length, 1, `page ${i} has ${mine.length} avatars of its own`);
    }
    await pages[1].waitForFunction((id) => Object.values(NAF.entities.entities)
      .some((el) => NAF.utils.getNetworkOwner(el) === id && Math.abs(el.object3D.position.x + 4) < 0.05), ids[0], { timeout: 20000 });
    // A third page on the new server sees both, once.
    const late = await openScene(second.url, "naf2", 3, naf);
    await waitOthers(late, ids);
    for (const p of [...pages, late]) await p.close();
  } finally {
    await relay.close();
    if (firstUp) await first.stop();
    await second.stop();
  }
});
}

test("an entity removed while a NAF page was away is gone when it comes back: no ghost", async () => {
  const synk = await startSynk();
  const relay = await startRelay(new URL(synk.url).host);
  try {
    const ann = await openScene(synk.url, "naf3", -1);
    const bob = await openScene(`http://127.0.0.1:${relay.port}`, "naf3", 1);
    const [annID, bobID] = [await idOf(ann), await idOf(bob)];
    // Ann adds a box of her own; Bob sees her avatar and her box.
    await ann.evaluate(() => {
      const box = document.createElement("a-entity");
      box.id = "box";
      box.setAttribute("networked", "template: #avatar; attachTemplateToLocal: false");
      box.setAttribute("position", "0 0.5 -4");
      document.querySelector("a-scene").appendChild(box);
    });
    await waitOthers(bob, [annID, annID]);
    await waitOthers(ann, [bobID]);

    await bob.evaluate(() => {
      const room = NAF.connection.adapter.room;
      room.on("disconnected", () => { window.away = true; });
      room.on("reconnected", () => { window.back = true; });
    });
    relay.down(); // Bob is cut off; meanwhile Ann removes her box
    await bob.waitForFunction(() => window.away, null, { timeout: 20000 });
    await ann.evaluate(() => document.getElementById("box").remove());
    await ann.waitForFunction(() => Object.values(NAF.entities.entities).filter((el) => NAF.utils.isMine(el)).length === 1);
    relay.up();
    // Bob is back: Ann's avatar once, her box gone.
    await bob.waitForFunction(() => window.back, null, { timeout: 20000 });
    await waitOthers(bob, [annID]);
    await waitOthers(ann, [bobID]);
    await ann.close();
    await bob.close();
  } finally {
    await relay.close();
    await synk.stop();
  }
});

test("with areas a far NAF page gets none of a near group's updates, and does once it walks over", async () => {
  const synk = await startSynk();
  const opts = "areas: true; cell: 10; radius: 1; follow: #me";
  try {
    const ann = await openScene(synk.url, "naf4", 0, opts);
    const bob = await openScene(synk.url, "naf4", 2, opts);
    const cy = await openScene(synk.url, "naf4", 200, opts); // 20 cells away
    const [annID, bobID, cyID] = await Promise.all([ann, bob, cy].map(idOf));
    await waitOthers(ann, [bobID]);
    await waitOthers(bob, [annID]);
    await cy.evaluate(() => {
      window.heard = 0;
      NAF.connection.adapter.room.on("message", (e) => { if (e.topic === "u" || e.topic === "um") window.heard++; });
    });
    // Ann walks about; Bob sees her arrive, Cy hears nothing of it.
    await ann.bringToFront();
    await ann.evaluate(() => document.getElementById("me").setAttribute("position", "4 1.6 -2"));
    await bob.waitForFunction((id) => Object.values(NAF.entities.entities)
      .some((el) => NAF.utils.getNetworkOwner(el) === id && Math.abs(el.object3D.position.x - 4) < 0.05), annID, { timeout: 20000 });
    assert.deepEqual((await entities(cy)).map((e) => e.owner), [cyID], "the far page holds only its own avatar");
    assert.equal(await cy.evaluate(() => window.heard), 0, "the far page received updates from the near group");

    // Cy walks over: it sees both, and both see it.
    await cy.bringToFront();
    await cy.evaluate(() => document.getElementById("me").setAttribute("position", "6 1.6 -3"));
    await waitOthers(cy, [annID, bobID]);
    await waitOthers(ann, [bobID, cyID]);
    await waitOthers(bob, [annID, cyID]);
    assert.ok(await cy.evaluate(() => window.heard) > 0);

    // And walks away: each side's copies of the other go.
    await cy.evaluate(() => document.getElementById("me").setAttribute("position", "-300 1.6 -3"));
    await waitOthers(cy, []);
    await waitOthers(ann, [bobID]);
    await waitOthers(bob, [annID]);
    for (const p of [ann, bob, cy]) await p.close();
  } finally {
    await synk.stop();
  }
});

test("a persistent NAF entity is kept by the server: there after every page left and a restart", async () => {
  const data = mkdtempSync(join(tmpdir(), "synk-naf-"));
  let synk = await startSynk("-data", data);
  try {
    const ann = await openScene(synk.url, "naf5", 0);
    const bob = await openScene(synk.url, "naf5", 2);
    await waitOthers(bob, [await idOf(ann)]);
    // Ann spawns a persistent crate and moves it; Bob gets it (the adapter
    // creates it from its template), and the server stores where it is.
    await ann.evaluate(() => {
      const el = document.createElement("a-entity");
      el.setAttribute("position", "1 0.5 -4");
      el.setAttribute("networked", "template: #avatar; networkId: crate1; persistent: true");
      document.querySelector("a-scene").appendChild(el);
      setTimeout(() => el.setAttribute("position", "3 0.5 -4"), 200);
    });
    const stored = (p) => p.evaluate(() => NAF.connection.adapter.room.objects.get("naf.crate1")?.fields.e?.components?.[0]?.x);
    await ann.waitForFunction(() => NAF.connection.adapter.room.objects.get("naf.crate1")?.fields.e?.components?.[0]?.x === 3, null, { timeout: 20000 });
    await bob.waitForFunction(() => Math.abs(NAF.entities.getEntity("crate1")?.object3D.position.x - 3) < 0.05, null, { timeout: 20000 });
    assert.equal(await stored(bob), 3);
    await ann.close();
    // Ann's crate stays with Bob (NAF hands it over), and he leaves too.
    await bob.waitForFunction(() => Object.keys(NAF.connection.adapter.occupants).length === 0, null, { timeout: 20000 });
    assert.ok(await bob.evaluate(() => NAF.entities.hasEntity("crate1")));
    await bob.close();

    await synk.stop();
    synk = await startSynk("-data", data);
    const cy = await openScene(synk.url, "naf5", 0);
    await cy.waitForFunction(() => Math.abs(NAF.entities.getEntity("crate1")?.object3D.position.x - 3) < 0.05, null, { timeout: 20000 });
    assert.equal(await cy.evaluate(() => NAF.utils.getNetworkOwner(NAF.entities.getEntity("crate1"))), "scene");
    // Cy takes it and moves it; the server keeps the new place.
    await cy.evaluate(() => {
      const el = NAF.entities.getEntity("crate1");
      NAF.utils.takeOwnership(el);
      el.setAttribute("position", "-2 0.5 -4");
    });
    await cy.waitForFunction(() => NAF.connection.adapter.room.objects.get("naf.crate1")?.fields.e?.components?.[0]?.x === -2, null, { timeout: 20000 });
    // Removed by its owner, it is gone for good.
    await cy.evaluate(() => NAF.entities.getEntity("crate1").remove());
    await cy.waitForFunction(() => !NAF.connection.adapter.room.objects.get("naf.crate1"), null, { timeout: 20000 });
    const dan = await openScene(synk.url, "naf5", 1);
    await waitOthers(dan, [await idOf(cy)]);
    assert.equal(await dan.evaluate(() => NAF.entities.hasEntity("crate1")), false);
    await cy.close();
    await dan.close();
  } finally {
    await synk.stop();
    rmSync(data, { recursive: true, force: true });
  }
});

test("the /vr demo: two pages see each other's avatar, and a crate one page moves moves on the other", async () => {
  const synk = await startSynk();
  // The page loads A-Frame and NAF from a CDN, pinned by integrity: here
  // the same files come from web/test/vendor.
  const stopCDN = await serveCDN(browser.context);
  try {
    const open = async () => {
      const page = await browser.context.newPage();
      page.on("pageerror", (e) => console.error("[vr page] error:", e.message));
      await page.goto(synk.url + "/vr?room=vrtest");
      await page.waitForFunction(() => window.NAF?.clientId, null, { timeout: 20000 });
      return page;
    };
    const ann = await open();
    const bob = await open();
    for (const p of [ann, bob]) {
      await p.waitForFunction(() => document.querySelectorAll(".avatar").length === 1, null, { timeout: 20000 });
    }
    // Ann takes crate-2 and moves it; Bob sees it there.
    await ann.bringToFront();
    await ann.evaluate(() => {
      const crate = document.getElementById("crate-2");
      NAF.utils.takeOwnership(crate);
      crate.setAttribute("position", { x: 0.7, y: 0.3, z: -2.5 });
    });
    await bob.waitForFunction(() => {
      const p = document.getElementById("crate-2").object3D.position;
      return Math.abs(p.x - 0.7) < 0.05 && Math.abs(p.z + 2.5) < 0.05;
    }, null, { timeout: 20000 });
    await bob.bringToFront();
    await bob.screenshot({ path: join(dirname(fileURLToPath(import.meta.url)), "artifacts", "vr.png") });
    await ann.close();
    await bob.close();
  } finally {
    await stopCDN();
    await synk.stop();
  }
});
