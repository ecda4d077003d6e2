// The npm package (web/npm, issue 21.4): packed with npm pack, installed
// into a scratch app, bundled with esbuild, and loaded in headless
// Chromium from a static server of its own, where it joins a room on a
// synk server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { startSynk, launchBrowser } from "./harness.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
let synk, browser, dir, site, requests;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "synk-npm-"));
  synk = await startSynk();
  browser = await launchBrowser();
});

after(async () => {
  site?.close();
  await browser?.close();
  await synk?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// serve serves the folder www on 127.0.0.1, as a static host would (the
// wasm as application/wasm), and notes every path asked for.
function serve(www) {
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
  requests = [];
  site = createServer((req, res) => {
    let path = new URL(req.url, "http://x").pathname;
    if (path.endsWith("/")) path += "index.html";
    requests.push(path);
    try {
      const body = readFileSync(join(www, normalize(path)));
      res.writeHead(200, { "Content-Type": types[extname(path)] || "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => site.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${site.address().port}`)));
}

test("synk.js as an npm package: packed, installed, bundled with esbuild, it joins a room", async () => {
  const tarball = execFileSync("bash", [join(root, "web", "npm", "pack.sh"), join(dir, "pack")], { encoding: "utf8" }).trim();
  const pkg = JSON.parse(execFileSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" }));
  assert.match(pkg.version, /^(\d+\.\d+\.\d+|0\.0\.0-\d{14}-[0-9a-f]{12})$/, "the Go module's version");

  const app = join(dir, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch-app", private: true, type: "module" }));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], { cwd: app });
  writeFileSync(join(app, "app.js"), `
    import * as synk from "synk";
    const q = new URLSearchParams(location.search);
    if (q.get("base")) synk.load({ base: q.get("base") });
    window.result = synk.join(q.get("ws"), "npm", { client: q.get("name"), presence: { from: "bundle" } })
      .then((room) => "joined " + room.members().length, (e) => "failed " + e.message);
  `);
  const www = join(dir, "www");
  const installed = join(app, "node_modules", "synk");
  const files = ["synk-worker.js", "synk.wasm", "wasm_exec.js"];
  // Two layouts: the client's three files beside the bundle, or in a
  // folder of their own that load({base}) names.
  for (const [folder, filesAt] of [["beside", "beside"], ["based", "vendor/synk"]]) {
    await build({ absWorkingDir: app, entryPoints: ["app.js"], bundle: true, format: "esm", outfile: join(www, folder, "app.js"), logLevel: "error" });
    writeFileSync(join(www, folder, "index.html"), `<!doctype html><script type="module" src="app.js"></script>`);
    mkdirSync(join(www, filesAt), { recursive: true });
    for (const f of files) cpSync(join(installed, f), join(www, filesAt, f));
  }
  const origin = await serve(www);
  const ws = synk.url.replace(/^http/, "ws") + "/ws";

  const pages = [];
  for (const [folder, base, name] of [["beside", "", "beside"], ["based", "/vendor/synk/", "based"]]) {
    requests.length = 0;
    const page = await browser.context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${origin}/${folder}/?ws=${encodeURIComponent(ws)}&name=${name}&base=${encodeURIComponent(base)}`);
    await page.waitForFunction(() => window.result, null, { timeout: 15000 });
    assert.match(await page.evaluate(() => window.result), /^joined \d+$/, `errors: ${errors}`);
    const at = base || `/${folder}/`;
    for (const f of files) assert.ok(requests.includes(at + f), `${at + f} not asked for: ${requests}`);
    assert.equal(requests.filter((p) => p.endsWith(".wasm")).length, 1, `the wasm fetched once: ${requests}`);
    assert.ok(!requests.some((p) => /synk(-codec)?\.js$/.test(p)), `synk.js and synk-codec.js are in the bundle: ${requests}`);
    pages.push(page);
  }
  // Both pages are members of the room, as any other client sees them.
  const res = await fetch(synk.url + "/synk/npm");
  assert.equal(res.status, 200);
  const members = (await res.json()).map((m) => [m.c, m.d]).sort();
  assert.deepEqual(members, [["based", [{ k: "from", v: "bundle" }]], ["beside", [{ k: "from", v: "bundle" }]]]);
  for (const page of pages) await page.close();
});
