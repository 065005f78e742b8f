// Shared set-up of the browser tests: the example site built or served by the real aushang
// binary, a static file server for the built site, and Debian's Chromium driven by
// playwright-core (no browser download: the system's /usr/bin/chromium).

import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const AUSHANG = process.env.AUSHANG_BIN || join(REPO, "target", "debug", "aushang");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const ARTIFACTS = join(REPO, "target", "browser-artifacts");
/// The instant every test shows the example site at (as tests/site.rs does).
export const NOW = "2026-11-28T12:00";

export const VIEWPORTS = [
  { name: "phone", width: 360, height: 740 },
  { name: "desktop", width: 1280, height: 800 },
];

/// A private copy of the example site (the tests edit notices in it).
export function copyExampleSite() {
  const dir = mkdtempSync(join(tmpdir(), "aushang-browser-site-"));
  for (const sub of ["content", "static", "templates"]) {
    cpSync(join(REPO, sub), join(dir, sub), { recursive: true });
  }
  cpSync(join(REPO, "aushang.yaml"), join(dir, "aushang.yaml"));
  return dir;
}

/// Builds the example site with `aushang build --now NOW` into a fresh folder; returns it.
export function buildExampleSite() {
  const site = copyExampleSite();
  const out = join(site, "public");
  execFileSync(AUSHANG, ["--root", site, "build", "--now", NOW, "--out", out], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return { site, out };
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".xml": "application/xml; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".pdf": "application/pdf",
};

/// Serves `root` on 127.0.0.1 like a plain static web host: `dir/` → `dir/index.html`, anything
/// missing → `404.html` with status 404.
export async function staticServer(root) {
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path.endsWith("/")) path += "index.html";
    const file = normalize(join(root, path));
    let status = 200;
    let target = file;
    if (!file.startsWith(root) || !isFile(file)) {
      status = 404;
      target = join(root, "404.html");
    }
    res.writeHead(status, { "content-type": TYPES[extname(target)] || "application/octet-stream" });
    res.end(readFileSync(target));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}

function isFile(p) {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/// Starts `aushang serve --port 0` on `site`; resolves once it printed its address.
export async function startServe(site, extraArgs = []) {
  const child = spawn(AUSHANG, ["--root", site, "serve", "--port", "0", ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`aushang serve did not start:\n${output}`)), 30000);
    const onData = (chunk) => {
      output += chunk;
      const m = output.match(/Vorschau: (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (c) => (output += c));
    child.on("exit", (code) => fail(new Error(`aushang serve exited (${code}):\n${output}`)));
  });
  return {
    url,
    output: () => output,
    stop: () => stopChild(child),
  };
}

/// Debian's Chromium, headless, with a new empty profile and no background traffic. `options`
/// go to the browser context (e.g. `{ javaScriptEnabled: false }`). A `locale` is also Chromium's
/// own language (`LANGUAGE`; on Linux `--lang` is ignored): the context's locale alone changes
/// `Intl` and `Accept-Language`, but date and time inputs are drawn in the browser's language
/// (its translations: Debian's chromium-l10n).
export async function launchBrowser(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), "aushang-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: VIEWPORTS[0],
    ...(options.locale ? { env: { ...process.env, LANGUAGE: options.locale.replace("-", "_") } } : {}),
    ...options,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/// A new page that records console errors, page errors, failed requests and HTTP errors of
/// sub-resources, and refuses every request that leaves 127.0.0.1.
export async function openPage(context, viewport) {
  const page = await context.newPage();
  await page.setViewportSize({ width: viewport.width, height: viewport.height });
  const problems = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("requestfailed", (req) => {
    // Requests cut short because the page navigates or reloads (the event stream, a favicon
    // still loading) are no error; failures of the page's own resources show as HTTP errors.
    const aborted = req.failure()?.errorText === "net::ERR_ABORTED";
    if (!aborted && !req.url().includes("/_aushang/events")) {
      problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`);
    }
  });
  page.on("response", (res) => {
    if (res.status() >= 400 && res.request().resourceType() !== "document") {
      problems.push(`HTTP ${res.status()}: ${res.url()}`);
    }
  });
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1" || url.protocol === "data:") return route.continue();
    problems.push(`external request: ${url}`);
    return route.abort();
  });
  return { page, problems };
}

/// The axe-core source, injected into pages for the audit.
export const AXE_SOURCE = readFileSync(join(REPO, "tests", "browser", "node_modules", "axe-core", "axe.min.js"), "utf8");

/// WCAG 2.1 A and AA violations on the current page, as readable lines.
export async function axeViolations(page) {
  await page.addScriptTag({ content: AXE_SOURCE });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return result.violations.map((v) => ({
      id: v.id,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
    }));
  });
  return violations.map((v) => `${v.id} (${v.help})\n    ${v.nodes.join("\n    ")}`);
}

export function artifactPath(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/// axe-core's WCAG 2.1 A/AA violations in `frame` (a page or a frame), for pages whose
/// Content-Security-Policy forbids an injected script (the editor, the login popup): axe is
/// evaluated through the DevTools protocol, which the policy does not govern. `context` is axe's
/// (e.g. `{ exclude: [["#nc-root"]] }`). Each violation: `{ id, nodes: [target, …] }`.
export async function axeRun(frame, context = null) {
  await frame.evaluate(AXE_SOURCE);
  return frame.evaluate(async (context) => {
    const result = await window.axe.run(context ?? document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return result.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  }, context);
}

/// Ends a child process started by a test (SIGTERM) and resolves once it has exited.
export function stopChild(child) {
  return new Promise((ok) => {
    if (child.exitCode !== null) return ok();
    child.once("exit", ok);
    child.kill("SIGTERM");
  });
}
