// Browser figures, reported not asserted: time from page load to joined
// room in the world demo, the round trip of 1,000 sequential presence
// updates between two pages (A sets n, B echoes it, A waits for the echo),
// what receiving avatar poses costs a page's main thread (ingest.mjs), and
// the bytes of a Networked-A-Frame avatar update on the synk adapter
// against the JSON NAF's socket adapters send (naf), and the bytes a real
// NAF page receives in a world of 49 walking avatars with and without
// synk-naf's areas (nafareas; the avatars are bench/nafworld's Go clients).
//
//   make bench-browser              # all of it
//   PARTS=ingest RUNS=3 SECONDS=15 AVATARS=10,50,100,200 make bench-browser
import { execFileSync, spawn } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startSynk, launchBrowser, openWorld, startSceneSite, startRelay } from "./harness.mjs";
import { ingestTable } from "./ingest.mjs";

const N = Number(process.env.N || 1000);
const parts = (process.env.PARTS || "join,rtt,ingest,naf,nafareas").split(",");
// 200 avatars' rooms on one page's connection: the default limit is 16.
const synk = await startSynk("-max-rooms", "256");
const browser = await launchBrowser();
try {
  if (parts.includes("ingest")) console.log(await ingestTable(synk, browser));
  if (parts.includes("join")) {
    // Cold: a browser with an empty cache. Warm: the same browser again
    // (a returning visitor, with the client's files in its HTTP cache).
    // DWELL (ms): how long the first visit stays on the page before it
    // closes; the browser may keep the compiled client in its code cache
    // only after it ran a while.
    const dwell = Number(process.env.DWELL || 0);
    const readyAt = async (context, i, stay = 0) => {
      const p = await openWorld(context, synk.url, "load" + i, "L" + i);
      const t = await p.evaluate(() => window.synkWorld.readyAt);
      if (stay > 0) await p.waitForTimeout(stay);
      await p.close();
      return t;
    };
    const cold = [], warm = [];
    for (let i = 0; i < 5; i++) {
      const b = await launchBrowser();
      try {
        cold.push(await readyAt(b.context, i, dwell));
        for (let j = 0; j < 2; j++) warm.push(await readyAt(b.context, i));
      } finally {
        await b.close();
      }
    }
    const report = (name, xs) => {
      xs.sort((a, b) => a - b);
      return `${name} median ${xs[(xs.length - 1) >> 1].toFixed(0)} ms [${xs[0].toFixed(0)}–${xs.at(-1).toFixed(0)}]`;
    };
    console.log(`page load → joined room (world demo; 5 fresh browsers, then each twice again${dwell ? `, the first visit ${dwell} ms long` : ""}): ${report("cold", cold)}, ${report("warm", warm)}`);
  }
  if (parts.includes("rtt")) {

  const open = async (name) => {
    const page = await browser.context.newPage();
    await page.goto(synk.url + "/observer"); // any page of the server: synk.js is same-origin
    await page.evaluate(async (name) => {
      const synk = await import("/synk.js");
      window.room = await synk.join("bench", { client: name, presence: { n: -1 } });
    }, name);
    return page;
  };
  const a = await open("a");
  const b = await open("b");
  await b.evaluate(() => {
    window.room.on("change", (e) => {
      if (e.client === "a" && typeof e.entries.n === "number") window.room.presence.set({ echo: e.entries.n });
    });
  });
  const ms = await a.evaluate(async (n) => {
    const room = window.room;
    let want = -1, wake = null;
    room.on("change", (e) => { if (e.client === "b" && e.entries.echo === want && wake) wake(); });
    const rtts = [];
    for (let i = 0; i < n; i++) {
      want = i;
      const seen = new Promise((r) => { wake = r; });
      const t0 = performance.now();
      await room.presence.set({ n: i });
      await seen;
      rtts.push(performance.now() - t0);
    }
    return rtts;
  }, N);
  ms.sort((x, y) => x - y);
  const sum = ms.reduce((x, y) => x + y, 0);
  console.log(`${N} sequential presence round trips between two pages: total ${(sum / 1000).toFixed(2)} s, ` +
    `mean ${(sum / N).toFixed(2)} ms, p50 ${ms[N >> 1].toFixed(2)} ms, p99 ${ms[Math.floor(N * 0.99)].toFixed(2)} ms`);
  }
  if (parts.includes("naf")) console.log(await nafBytes());
  if (parts.includes("nafareas")) console.log(await nafAreas());
} finally {
  await browser.close();
  await synk.stop();
}

// nafBytes moves one page's avatar in a NAF scene for 3 s and measures
// each update it sends ("u", position and rotation changing): the Synk
// frames on the wire (the Send to the server, the Sent each receiver
// gets) against the JSON packet NAF's socket.io and uWS adapters send
// ({from, to, type, data}) for the same update.
async function nafBytes() {
  const site = await startSceneSite();
  try {
    const a = await site.open(browser.context, synk.url, "nafbytes", 0);
    const b = await site.open(browser.context, synk.url, "nafbytes", 2);
    await b.waitForFunction(() => Object.keys(NAF.entities.entities).length === 2, null, { timeout: 20000 });
    await a.bringToFront(); // a background tab gets few animation frames
    const sizes = await a.evaluate(async (synkHTTP) => {
      const { encode } = await import(synkHTTP + "/synk-codec.js");
      const adapter = NAF.connection.adapter;
      const out = [];
      const send = adapter.send.bind(adapter);
      adapter.send = (type, data, to) => {
        if ((type === "u" && !data.isFirstSync) || (type === "um" && data.d?.length === 1 && !data.d[0].isFirstSync)) {
          const te = new TextEncoder();
          out.push({
            send: encode({ t: 18, i: 300, r: adapter.synkRoom(), k: type, d: data }).length,
            sent: encode({ t: 19, r: adapter.synkRoom(), f: adapter.clientId, k: type, d: data }).length,
            json: te.encode(JSON.stringify({ from: adapter.clientId, to: to || undefined, type, data })).length, // a broadcast has no "to"
          });
        }
        send(type, data, to);
      };
      const me = document.getElementById("me");
      const t0 = performance.now();
      await new Promise((done) => {
        const step = () => {
          const t = (performance.now() - t0) / 1000;
          me.setAttribute("position", { x: Math.sin(t) * 3, y: 1.6, z: -3 + Math.cos(t) });
          me.setAttribute("rotation", { x: 0, y: t * 40, z: 0 });
          if (t < 3) requestAnimationFrame(step); else done();
        };
        requestAnimationFrame(step);
      });
      adapter.send = send;
      return out;
    }, synk.url);
    await a.close();
    await b.close();
    const med = (k) => { const xs = sizes.map((x) => x[k]).sort((p, q) => p - q); return xs[xs.length >> 1]; };
    return `NAF avatar update (position and rotation, ${sizes.length} updates in 3 s): Synk Send ${med("send")} B, ` +
      `Sent to each receiver ${med("sent")} B; NAF's JSON packet ${med("json")} B (medians)`;
  } finally {
    site.close();
  }
}

// nafAreas puts a real NAF page (synk-naf.js) at the centre of a world
// (WORLD metres square, default 100) where 49 avatars walk at 15 Hz
// (bench/nafworld), and counts the bytes the page receives on the wire
// (a relay between it and the server) over 15 s, after 3 s to settle, with
// areas off and on (cells of 10 m, radius 1), RUNS times each.
async function nafAreas() {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const bin = join(root, ".cache", "nafworld");
  execFileSync("go", ["build", "-o", bin, "./nafworld"], { cwd: join(root, "bench"), stdio: "inherit" });
  const world = process.env.WORLD || "100";
  const runs = Number(process.env.RUNS || 3);
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const site = await startSceneSite();
  const got = { false: [], true: [] }, seen = { false: [], true: [] }, ups = { false: [], true: [] };
  try {
    for (let r = 0; r < runs; r++) {
      for (const areas of [false, true]) {
        const room = `nafareas-${r}-${areas}`;
        const relay = await startRelay(new URL(synk.url).host);
        const bots = spawn(bin, ["-url", synk.url.replace(/^http/, "ws") + "/ws", "-room", room, `-areas=${areas}`,
          "-n", "49", "-world", world, "-for", "90s"], { stdio: ["ignore", "pipe", "inherit"] });
        try {
          await new Promise((resolve, reject) => {
            bots.stdout.on("data", (c) => { if (String(c).includes("joined")) resolve(); });
            bots.once("exit", (code) => reject(new Error("nafworld exited " + code)));
          });
          const page = await site.open(browser.context, `http://127.0.0.1:${relay.port}`, room, 0,
            areas ? "areas: true; cell: 10; radius: 1; follow: #me" : "");
          await page.bringToFront();
          await page.evaluate(() => {
            window.updates = 0;
            NAF.connection.adapter.room.on("message", (e) => { if (e.topic === "u" || e.topic === "um") window.updates++; });
          });
          await sleep(3000);
          const [before, u0] = [relay.received(), await page.evaluate(() => window.updates)];
          await sleep(15000);
          got[areas].push((relay.received() - before) / 15);
          ups[areas].push((await page.evaluate(() => window.updates) - u0) / 15);
          seen[areas].push(await page.evaluate(() => Object.keys(NAF.entities.entities).length - 1));
          await page.close();
        } finally {
          bots.kill();
          await relay.close();
        }
      }
    }
  } finally {
    site.close();
  }
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return `${Math.round(s[s.length >> 1])} (${Math.round(s[0])}–${Math.round(s.at(-1))})`; };
  return `A NAF page among 49 walking avatars in a ${world} m world, bytes received per second, median (range) of ${runs} runs:\n` +
    `  areas off: ${med(got.false)} B/s, ${med(ups.false)} updates/s, avatars in its scene at the end ${seen.false.join(", ")}\n` +
    `  areas on:  ${med(got.true)} B/s, ${med(ups.true)} updates/s, avatars in its scene at the end ${seen.true.join(", ")}`;
}
