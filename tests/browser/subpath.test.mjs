// The example site built for a sub-path base_url (GitHub project Pages: https://org.github.io/repo/)
// and served as GitHub Pages serves it: the site's files below /repo/, /repo/404.html for any
// unknown path below it, a folder without its slash redirected, nothing outside /repo/. In a real
// browser: the style sheet applies, navigation and attachment links work, an alias redirects, and
// the 404 page is styled from any depth.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { AUSHANG, NOW, VIEWPORTS, copyExampleSite, launchBrowser, openPage } from "./helpers.mjs";

const PREFIX = "/repo/";
const NOTICE = "bekanntmachungen/2026/ratssitzung-dezember/";
const ALIAS = "alt/ratssitzung/";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".xml": "application/xml; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".pdf": "application/pdf",
};

function isFile(p) {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p) {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/// Serves `root` below PREFIX like GitHub Pages serves a project site.
async function projectPagesServer(root) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (!path.startsWith(PREFIX)) {
      res.writeHead(404, { "content-type": "text/plain" });
      return res.end("not part of this project site");
    }
    let file = normalize(join(root, path.slice(PREFIX.length)));
    if (!file.startsWith(root)) file = join(root, "missing");
    if (isDir(file) && !path.endsWith("/")) {
      res.writeHead(301, { location: `${path}/` });
      return res.end();
    }
    if (path.endsWith("/")) file = join(file, "index.html");
    const found = isFile(file);
    const target = found ? file : join(root, "404.html");
    res.writeHead(found ? 200 : 404, {
      "content-type": TYPES[extname(target)] || "application/octet-stream",
    });
    res.end(readFileSync(target));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}

let site;
let server;
let browser;
let base;

before(async () => {
  site = copyExampleSite();
  const out = join(site, "public");
  server = await projectPagesServer(out);
  base = `${server.origin}${PREFIX}`;
  // The base_url names the test server, so absolute links (the alias redirect) stay local.
  const configFile = join(site, "aushang.yaml");
  const config = readFileSync(configFile, "utf8").replace("https://www.musterbach.example/", base);
  assert.ok(config.includes(base));
  writeFileSync(configFile, config);
  const noticeFile = join(site, "content/notices/2026/2026-11-20-ratssitzung-dezember.md");
  const notice = readFileSync(noticeFile, "utf8").replace("\ncategory: rat\n", `\ncategory: rat\naliases: [/${ALIAS}]\n`);
  writeFileSync(noticeFile, notice);
  execFileSync(AUSHANG, ["--root", site, "build", "--now", NOW, "--out", out], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (site) rmSync(site, { recursive: true, force: true });
});

/// Whether the site's style sheet applies: body text 18 px (the browser's default is 16 px) and
/// the sheet loaded with rules.
async function styled(page) {
  return page.evaluate(() => ({
    fontSize: getComputedStyle(document.body).fontSize,
    rules: [...document.styleSheets].reduce((n, s) => n + s.cssRules.length, 0),
  }));
}

const viewport = VIEWPORTS[0];

test("the front page below the sub-path is styled and its navigation works", async () => {
  const { page, problems } = await openPage(browser.context, viewport);
  const res = await page.goto(base, { waitUntil: "load" });
  assert.equal(res.status(), 200);
  const style = await styled(page);
  assert.equal(style.fontSize, "18px");
  assert.ok(style.rules > 10, `${style.rules} rules`);

  await page.getByRole("navigation", { name: "Hauptnavigation" }).getByRole("link", { name: "Archiv" }).click();
  await page.waitForLoadState("load");
  assert.equal(page.url(), `${base}archiv/`);
  assert.equal(await page.locator("h1").textContent(), "Archiv");

  await page.locator("ul.jahre a").first().click();
  await page.waitForLoadState("load");
  assert.match(page.url(), new RegExp(`${PREFIX}archiv/\\d{4}/$`));
  await page.locator("article.karte h2 a").first().click();
  await page.waitForLoadState("load");
  assert.ok(page.url().startsWith(`${base}bekanntmachungen/`), page.url());
  assert.equal((await styled(page)).fontSize, "18px");

  await page.locator("a.marke").click();
  await page.waitForLoadState("load");
  assert.equal(page.url(), base);
  assert.deepEqual(problems, []);
  await page.close();
});

test("every link and asset of the front page and a notice page resolves below the sub-path", async () => {
  const { page, problems } = await openPage(browser.context, viewport);
  for (const path of ["", NOTICE, "anmelden/"]) {
    await page.goto(base + path, { waitUntil: "load" });
    const urls = await page.evaluate(() =>
      [...document.querySelectorAll("[href], [src]")].map((el) => el.href || el.src),
    );
    const local = urls.filter((u) => u.startsWith("http://127.0.0.1"));
    assert.ok(local.length > 20, `${local.length} local links on ${path}`);
    for (const url of local) {
      assert.ok(url.startsWith(base), `${url} (on ${PREFIX}${path}) leaves ${PREFIX}`);
      const res = await page.request.get(url, { maxRedirects: 0 });
      assert.equal(res.status(), 200, `${url} on ${PREFIX}${path}`);
    }
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test("an alias below the sub-path redirects to the notice", async () => {
  const { page, problems } = await openPage(browser.context, viewport);
  await page.goto(`${base}${ALIAS}`);
  await page.waitForURL(`${base}${NOTICE}`);
  assert.match(await page.locator("h1").textContent(), /Sitzung des Stadtrates/);
  assert.equal((await styled(page)).fontSize, "18px");
  assert.deepEqual(problems, []);
  await page.close();
});

test("the 404 page is styled and its links work from any depth", async () => {
  const { page, problems } = await openPage(browser.context, viewport);
  for (const path of ["gibt-es-nicht", "a/b/c/d/gibt-es-nicht/"]) {
    const res = await page.goto(base + path, { waitUntil: "load" });
    assert.equal(res.status(), 404);
    assert.equal((await styled(page)).fontSize, "18px", `404 page at ${path} is styled`);
    await page.locator("main a[href]").first().click();
    await page.waitForLoadState("load");
    assert.ok(page.url().startsWith(base), page.url());
    const title = await page.title();
    assert.doesNotMatch(title, /nicht gefunden/i, `a link of the 404 page at ${path} leads to ${page.url()}`);
  }
  // Chromium reports the 404 of the page itself as a console error; it is intended.
  assert.deepEqual(
    problems.filter((p) => !p.includes("404")),
    [],
  );
  await page.close();
});
