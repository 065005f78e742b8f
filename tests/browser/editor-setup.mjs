// Set-up of the editor's browser test: a temporary git repository holding the example site with
// an `editor:` section, the site built from it by the real aushang binary, decap-server (Decap's
// local git backend, editorial workflow: one branch per entry) on that repository, and one
// server on 127.0.0.1 that serves the built site and passes `/api/v1` to decap-server, so the
// editor talks to nothing but its own site.

import { spawn, execFileSync } from "node:child_process";
import { createServer, request } from "node:http";
import { cpSync, mkdtempSync, readFileSync, statSync, writeFileSync, appendFileSync } from "node:fs";
import { createServer as netServer } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { AUSHANG, REPO, stopChild } from "./helpers.mjs";

export const DECAP_SERVER = join(REPO, "tests", "browser", "node_modules", "decap-server", "dist", "index.js");

/// The editor settings the test site gets.
export const EDITOR_YAML = `
editor:
  repo: musterbach/bekanntmachungen
  local_backend: /api/v1
`;

export function git(repo, ...args) {
  return execFileSync("git", ["-C", repo, ...args], { encoding: "utf8" });
}

/// A git repository with the example site (and `extra` files: path → text) on branch main.
export function makeRepo(extra = {}) {
  const dir = mkdtempSync(join(tmpdir(), "aushang-editor-"));
  const repo = join(dir, "repo");
  for (const sub of ["content", "static", "templates", "subscribers"]) {
    cpSync(join(REPO, sub), join(repo, sub), { recursive: true });
  }
  cpSync(join(REPO, "aushang.yaml"), join(repo, "aushang.yaml"));
  appendFileSync(join(repo, "aushang.yaml"), EDITOR_YAML);
  for (const [path, text] of Object.entries(extra)) writeFileSync(join(repo, path), text);
  execFileSync("git", ["init", "-q", "-b", "main", repo]);
  git(repo, "config", "user.email", "test@example.invalid");
  git(repo, "config", "user.name", "Test");
  git(repo, "add", "-A");
  git(repo, "commit", "-qm", "Beispielseite");
  return { dir, repo };
}

/// `aushang build` of `root` into `out`.
export function build(root, out, now) {
  execFileSync(AUSHANG, ["--root", root, "build", "--now", now, "--out", out], {
    stdio: ["ignore", "pipe", "pipe"],
  });
}

async function freePort() {
  const s = netServer();
  await new Promise((ok) => s.listen(0, "127.0.0.1", ok));
  const { port } = s.address();
  await new Promise((ok) => s.close(ok));
  return port;
}

/// decap-server in git mode on `repo`; resolves once it listens.
export async function startDecapServer(repo, cwd) {
  const port = await freePort();
  const child = spawn(process.execPath, [DECAP_SERVER], {
    cwd,
    env: { ...process.env, MODE: "git", GIT_REPO_DIRECTORY: repo, PORT: String(port), BIND_HOST: "127.0.0.1", LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action: "info" }),
      });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`decap-server exited:\n${output}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
  return {
    port,
    output: () => output,
    stop: () => stopChild(child),
  };
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".xml": "application/xml; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
};

/// Serves the built site from `root` and passes `/api/v1` to decap-server on `apiPort`.
export async function siteWithApi(root, apiPort) {
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/api/v1") {
      const upstream = request(
        { host: "127.0.0.1", port: apiPort, path: "/api/v1", method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(upstream);
      return;
    }
    let path = decodeURIComponent(url.pathname);
    if (path.endsWith("/")) path += "index.html";
    const file = normalize(join(root, path));
    let ok = false;
    try {
      ok = file.startsWith(root) && statSync(file).isFile();
    } catch {
      ok = false;
    }
    if (!ok) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream" });
    res.end(readFileSync(file));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}
