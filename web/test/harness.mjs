// Shared by the browser tests and the browser benchmark: start synk
// binaries on loopback and a headless Chromium driven by playwright-core.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer as createNetServer, connect } from "node:net";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const synkBin = process.env.SYNK_BIN || join(root, "bin", "synk");

/**
 * Starts the edge worker (make edge, in .cache/edge) under workerd on
 * 127.0.0.1:0; workerd reports the port on its control descriptor.
 * Resolves to {url (http://…), stop}.
 */
export function startWorkerd() {
  const edge = process.env.SYNK_EDGE_DIR || join(root, ".cache", "edge");
  const bin = process.env.WORKERD || join(root, "web", "test", "node_modules", ".bin", "workerd");
  const storage = mkdtempSync(join(tmpdir(), "synk-edge-"));
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ["serve", join(edge, "workerd.capnp"), "--directory-path", "storage=" + storage,
      "--socket-addr", "http=127.0.0.1:0", "--control-fd", "3"], { stdio: ["ignore", "ignore", "pipe", "pipe"] });
    let log = "", ctl = "";
    const timer = setTimeout(() => { proc.kill("SIGKILL"); reject(new Error("workerd did not start:\n" + log)); }, 20000);
    proc.stderr.setEncoding("utf8");
    proc.stderr.on("data", (c) => (log += c));
    proc.stdio[3].setEncoding("utf8");
    proc.stdio[3].on("data", (chunk) => {
      ctl += chunk;
      const m = ctl.match(/"event":"listen","socket":"http","port":(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: "http://127.0.0.1:" + m[1],
          // workerd may keep its port after SIGTERM: kill it.
          stop: () => new Promise((done) => { proc.once("exit", () => { rmSync(storage, { recursive: true, force: true }); done(); }); proc.kill("SIGKILL"); }),
        });
      }
    });
    proc.once("exit", (code) => { clearTimeout(timer); reject(new Error(`workerd exited ${code}:\n${log}`)); });
  });
}

/** Starts `synk serve` on 127.0.0.1:0 with extra flags; resolves to {url, log, stop}. */
export function startSynk(...flags) { return startBinary(synkBin, flags); }

/**
 * Builds synk as `go build ./cmd/synk` does in a fresh clone, where `make
 * wasm` has not run: without the browser client (its files hidden from
 * the build by an overlay). Returns the binary's path.
 */
export function buildWithoutClient() {
  const dir = mkdtempSync(join(tmpdir(), "synk-noclient-"));
  const hidden = {};
  for (const f of ["synk.wasm", "wasm_exec.js"]) {
    for (const ext of ["", ".br", ".gz"]) hidden[join(root, "web", "static", f + ext)] = "";
  }
  writeFileSync(join(dir, "overlay.json"), JSON.stringify({ Replace: hidden }));
  execFileSync("go", ["build", "-overlay", join(dir, "overlay.json"), "-o", join(dir, "synk"), "./cmd/synk"], { cwd: root, stdio: "inherit" });
  return join(dir, "synk");
}

/** Starts the synk binary bin as startSynk does. */
export function startBinary(bin, flags) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ["serve", "-addr", "127.0.0.1:0", "-data", "", ...flags], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    const timer = setTimeout(() => { proc.kill(); reject(new Error("synk did not start:\n" + log)); }, 15000);
    proc.stderr.setEncoding("utf8");
    proc.stderr.on("data", (chunk) => {
      log += chunk;
      const m = log.match(/msg="synk serving" addr=(http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          log: () => log,
          stop: () => new Promise((done) => { proc.once("exit", done); proc.kill("SIGTERM"); }),
        });
      }
    });
    proc.once("exit", (code) => { clearTimeout(timer); reject(new Error(`synk exited ${code}:\n${log}`)); });
  });
}

/** Launches headless Chromium in a fresh profile; resolves to {context, close}. */
export async function launchBrowser() {
  const dir = mkdtempSync(join(tmpdir(), "synk-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    close: async () => { await context.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** Opens the world demo as name in room and waits until it has joined. */
export async function openWorld(context, url, room, name) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[${name}] page error:`, e.message));
  await page.goto(`${url}/?room=${room}&name=${name}`);
  await page.waitForFunction(() => window.synkWorld?.ready === true, null, { timeout: 15000 });
  return page;
}

/**
 * A TCP relay on 127.0.0.1 to target ("host:port") that a test can take
 * down (cut every link, refuse new ones) and bring up again: the server
 * looks unreachable to the pages behind it, and send new links to another
 * server (retarget). received() is the bytes it passed from the server
 * to the pages. Resolves to {port, down, up, retarget, received, close}.
 */
export function startRelay(target) {
  const split = (t) => [t.slice(0, t.lastIndexOf(":")), Number(t.slice(t.lastIndexOf(":") + 1))];
  let [host, port] = split(target);
  const links = new Set();
  let refuse = false, received = 0;
  const server = createNetServer((a) => {
    if (refuse) { a.destroy(); return; }
    const b = connect(port, host);
    const link = [a, b];
    links.add(link);
    const end = () => { a.destroy(); b.destroy(); links.delete(link); };
    a.on("error", end).on("close", end);
    b.on("error", end).on("close", end);
    a.pipe(b);
    b.pipe(a);
    b.on("data", (chunk) => { received += chunk.length; });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({
    port: server.address().port,
    down: () => { refuse = true; for (const [a, b] of links) { a.destroy(); b.destroy(); } },
    up: () => { refuse = false; },
    retarget: (t) => { [host, port] = split(t); },
    received: () => received,
    close: () => new Promise((done) => { refuse = true; for (const [a, b] of links) { a.destroy(); b.destroy(); } server.close(done); }),
  })));
}

// scene is a page of one Networked-A-Frame scene on the synk adapter:
// its avatar (#me, not shown to itself) at x, the adapter's options naf
// (the synk-naf component's, e.g. "areas: true"), if any.
const scene = (synkHTTP, room, x, naf) => `<!doctype html><html><head>
<script src="/vendor/aframe-v1.8.0.min.js"></script>
<script src="/vendor/networked-aframe.min.js"></script>
<script type="module" src="${synkHTTP}/synk-naf.js"></script>
</head><body>
<a-scene networked-scene="adapter: synk; room: ${room}; serverURL: ${synkHTTP.replace(/^http/, "ws")}/ws"${naf ? ` synk-naf="${naf}"` : ""}>
  <a-assets><template id="avatar"><a-entity class="avatar"><a-sphere radius="0.3" color="#e55"></a-sphere></a-entity></template></a-assets>
  <a-entity id="me" networked="template: #avatar; attachTemplateToLocal: false" position="${x} 1.6 -3"></a-entity>
  <a-sky color="#223"></a-sky>
</a-scene>
</body></html>`;

/**
 * Serves NAF scene pages on 127.0.0.1 with aframe 1.8.0 and
 * networked-aframe 0.14.3 from web/test/vendor (.ci/deps.sh fetches them
 * from npm). Resolves to {origin, open(context, synkHTTP, room, x, naf),
 * close}; open resolves to a page once NAF is connected.
 */
export function startSceneSite() {
  const vendor = join(dirname(fileURLToPath(import.meta.url)), "vendor");
  const site = createServer((req, res) => {
    const u = new URL(req.url, "http://x");
    if (u.pathname.startsWith("/vendor/")) {
      try {
        const body = readFileSync(join(vendor, u.pathname.slice("/vendor/".length).replace(/[/\\]/g, "")));
        res.writeHead(200, { "Content-Type": "text/javascript" }).end(body);
      } catch {
        res.writeHead(404).end();
      }
      return;
    }
    if (u.pathname !== "/") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": "text/html" }).end(scene(u.searchParams.get("synk"), u.searchParams.get("room"), u.searchParams.get("x"), u.searchParams.get("naf")));
  });
  return new Promise((resolve) => site.listen(0, "127.0.0.1", () => {
    const origin = `http://127.0.0.1:${site.address().port}`;
    resolve({
      origin,
      async open(context, synkHTTP, room, x, naf = "") {
        const page = await context.newPage();
        page.on("pageerror", (e) => console.error("[naf page] error:", e.message));
        await page.goto(`${origin}/?synk=${encodeURIComponent(synkHTTP)}&room=${room}&x=${x}&naf=${encodeURIComponent(naf)}`);
        await page.waitForFunction(() => window.NAF?.clientId, null, { timeout: 20000 });
        return page;
      },
      close: () => site.close(),
    });
  }));
}

/**
 * Serves the demo pages' CDN (unpkg.com) from web/test/vendor, the same
 * files from npm that their integrity pins, to every page of context.
 * Resolves to a function that stops it.
 */
export async function serveCDN(context) {
  const vendor = join(dirname(fileURLToPath(import.meta.url)), "vendor");
  const pattern = "https://unpkg.com/**";
  await context.route(pattern, (route) => route.fulfill({
    path: join(vendor, route.request().url().split("/").pop()),
    contentType: "text/javascript", headers: { "Access-Control-Allow-Origin": "*" },
  }));
  return () => context.unroute(pattern);
}
