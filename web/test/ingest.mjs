// What receiving avatar poses costs a page: Go publishers (bench/avatars)
// send n avatars' poses at 60 Hz (seven float32 and a send time) and one
// page receives them all, with synk.js (its worker hands events over per
// websocket message, or per animation frame with deliver "frame") or as
// plain JS: the same websocket frames decoded on the page's thread with
// npm @msgpack/msgpack. Each page does the same work per pose (keeps it by
// avatar, notes its delay). Measured over SECONDS after a 2 s warm-up, from
// Chromium's own counters (CDP Performance.getMetrics TaskDuration: time
// the page's main thread spent in tasks):
//   busy     main-thread task time / wall time: what is left of each
//            frame's budget
//   task µs  main-thread task time / poses handled (wall time: it grows
//            when the thread waits for a core)
//   CPU µs   CPU time of the renderer's main thread, and of its worker
//            threads (synk.js's), from /proc/PID/task/TID/stat / poses
//   late     animation frames later than 25 ms after the one before
//   delay    publish (Go's clock) → handler (the page's), p50 and p95
// Medians of RUNS runs, [min–max].
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const RUNS = Number(process.env.RUNS || 3);
const SECONDS = Number(process.env.SECONDS || 15);
const AVATARS = (process.env.AVATARS || "10,50,100,200").split(",").map(Number);
const HZ = 60;

const systems = {
  "synk.js": { setup: setupSynk, deliver: "message" },
  "synk.js, deliver frame": { setup: setupSynk, deliver: "frame" },
  "plain JS": { setup: setupPlain },
};

/** Runs every load on every system RUNS times; resolves to a markdown table. */
export async function ingestTable(synk, browser) {
  const bin = join(mkdtempSync(join(tmpdir(), "synk-avatars-")), "avatars");
  execFileSync("go", ["build", "-o", bin, "./avatars"], { cwd: join(root, "bench"), stdio: "inherit" });
  const rows = [];
  let round = 0;
  for (const n of AVATARS) {
    for (const [name, sys] of Object.entries(systems)) {
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await ingest(synk, browser, bin, sys, n, `r${round++}-`));
      rows.push({ n, name, runs });
      console.error(`  ${n} avatars, ${name}: ${JSON.stringify(runs.map((r) => r.usPerEvent.toFixed(1)))} µs/event`);
    }
  }
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
  const cell = (runs, f, digits) => {
    const xs = runs.map(f);
    return `${med(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;
  };
  const lines = [
    `Avatar poses into one page, ${HZ} Hz each, ${SECONDS} s × ${RUNS} runs (medians [min–max]):`,
    "",
    "| avatars | receiver | events/s | main-thread busy % | main-thread task µs per event | main-thread CPU µs per event | worker CPU µs per event | late frames | delay p50 ms | delay p95 ms |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const { n, name, runs } of rows) {
    lines.push(`| ${n} × ${HZ} Hz | ${name} | ${cell(runs, (r) => r.eventsPerS, 0)} | ${cell(runs, (r) => r.busy * 100, 1)} | ` +
      `${cell(runs, (r) => r.usPerEvent, 1)} | ${cell(runs, (r) => r.mainCPU, 1)} | ${cell(runs, (r) => r.workerCPU, 1)} | ${cell(runs, (r) => r.late, 0)} | ${cell(runs, (r) => r.p50, 1)} | ${cell(runs, (r) => r.p95, 1)} |`);
  }
  return lines.join("\n");
}

async function ingest(synk, browser, bin, sys, n, prefix) {
  const ws = synk.url.replace(/^http/, "ws") + "/ws";
  const pub = spawn(bin, ["-url", ws, "-n", String(n), "-hz", String(HZ), "-conns", String(Math.ceil(n / 50)), "-prefix", prefix, "-for", `${SECONDS + 10}s`],
    { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => pub.once("exit", resolve));
  try {
    await new Promise((resolve, reject) => {
      let out = "";
      pub.stdout.setEncoding("utf8");
      pub.stdout.on("data", (c) => { out += c; if (out.includes("joined")) resolve(); });
      pub.once("exit", (code) => reject(new Error(`avatars exited ${code} before joining`)));
    });
    const page = await browser.context.newPage();
    try {
      await page.goto(synk.url + "/synk.d.ts"); // the server's origin, no client of its own
      if (!sys.deliver) await page.addScriptTag({ path: join(here, "node_modules", "@msgpack", "msgpack", "dist.umd", "msgpack.min.js") });
      await page.evaluate(sys.setup, { n, prefix, ws, deliver: sys.deliver, stats: stats.toString() });
      await page.evaluate(() => new Promise((r) => setTimeout(r, 2000))); // warm-up
      const cdp = await browser.context.newCDPSession(page);
      await cdp.send("Performance.enable");
      const task = async () => (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration").value;
      const t0 = await task();
      const c0 = rendererCPU();
      const w0 = await page.evaluate(() => window.st.mark());
      await page.evaluate((s) => new Promise((r) => setTimeout(r, s * 1000)), SECONDS);
      const t1 = await task();
      const c1 = rendererCPU();
      const r = await page.evaluate(() => window.st.collect());
      const wall = (r.at - w0) / 1000;
      const d = [...r.delays].sort((a, b) => a - b);
      return {
        eventsPerS: r.events / wall,
        busy: (t1 - t0) / wall,
        usPerEvent: ((t1 - t0) * 1e6) / Math.max(1, r.events),
        mainCPU: ((c1.main - c0.main) * 1e6) / Math.max(1, r.events),
        workerCPU: ((c1.worker - c0.worker) * 1e6) / Math.max(1, r.events),
        late: r.gaps.filter((g) => g > 25).length,
        p50: d[Math.floor(d.length * 0.5)] ?? NaN,
        p95: d[Math.floor(d.length * 0.95)] ?? NaN,
      };
    } finally {
      await page.close();
    }
  } finally {
    pub.kill();
    await exited;
  }
}

// rendererCPU returns the CPU seconds that the main threads of Chromium's
// renderer processes (a page's thread) and their dedicated workers have
// used. Threads that ended (a closed page's) no longer count; the figures
// are differences over one page's life.
function rendererCPU() {
  const out = { main: 0, worker: 0 };
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--type=renderer")) continue;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8");
        const kind = tid === pid ? "main" : comm.startsWith("DedicatedWorker") ? "worker" : null;
        if (!kind) continue;
        const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1].split(" ");
        out[kind] += (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ
      }
    } catch { /* gone meanwhile */ }
  }
  return out;
}

// Both receivers keep window.st: poses by avatar, events, delays, and the
// gaps between animation frames.
function stats() {
  const st = {
    events: 0, delays: [], gaps: [], poses: new Map(),
    pose(avatar, p, t) { this.poses.set(avatar, p); this.events++; this.delays.push(performance.timeOrigin + performance.now() - t); },
    mark() { this.events = 0; this.delays = []; this.gaps = []; return performance.now(); },
    collect() { return { events: this.events, delays: this.delays, gaps: this.gaps, at: performance.now() }; },
  };
  let last = performance.now();
  const frame = (t) => { st.gaps.push(t - last); last = t; requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  return st;
}

// page.evaluate sends a function as its source: stats comes as source too.
async function setupSynk({ n, prefix, deliver, stats }) {
  const synk = await import("/synk.js");
  const st = (window.st = (0, eval)(`(${stats})`)());
  const onChange = (e) => { const p = e.entries.p; if (p) st.pose(e.room, p, e.entries.t); };
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const room = await synk.join(prefix + i, { observer: true, deliver });
    room.on("change", onChange);
  }));
}

async function setupPlain({ n, prefix, ws, stats }) {
  const { encode, decode } = window.MessagePack;
  const st = (window.st = (0, eval)(`(${stats})`)());
  const sock = new WebSocket(ws);
  sock.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => { sock.onopen = resolve; sock.onerror = reject; });
  let joined = 0, done;
  const all = new Promise((r) => { done = r; });
  sock.onmessage = ({ data }) => {
    const f = decode(data);
    switch (f.t) {
      case 8: // Presence
        if (f.e === 2 && f.d) {
          let p, t;
          for (const x of f.d) { if (x.k === "p") p = x.v; else if (x.k === "t") t = x.v; }
          if (p) st.pose(f.r, p, t);
        }
        break;
      case 9: sock.send(encode({ t: 10, n: f.n })); break; // Ping → Pong
      case 4: if (++joined === n) done(); break; // Joined
      case 11: console.error("synk error frame", f); break;
    }
  };
  sock.send(encode({ t: 1, v: 1 }));
  for (let i = 0; i < n; i++) sock.send(encode({ t: 3, i: i + 1, r: prefix + i, o: true }));
  await all;
}
