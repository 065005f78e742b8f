// `aushang serve` in a real browser: an open notice page follows an edit of its file without a
// manual reload, a broken file shows the errors in the page and fixing it recovers, the
// broadcast preview page shows the message, and the serve-only pages pass the same audit.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  NOW,
  VIEWPORTS,
  axeViolations,
  copyExampleSite,
  launchBrowser,
  openPage,
  startServe,
} from "./helpers.mjs";

const NOTICE = "/bekanntmachungen/2026/stromabschaltung-birkenstrasse/";
const FILE = "content/notices/2026/2026-11-25-stromabschaltung-birkenstrasse.md";

let site;
let serve;
let browser;

before(async () => {
  site = copyExampleSite();
  serve = await startServe(site, ["--now", NOW]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await serve?.stop();
  if (site) rmSync(site, { recursive: true, force: true });
});

/// Opens `path` and waits until its reload script is connected to the server.
async function openLive(path) {
  const { page, problems } = await openPage(browser.context, VIEWPORTS[0]);
  await page.goto(serve.url + path, { waitUntil: "load" });
  await page.waitForFunction(() => document.documentElement.dataset.aushangLive === "verbunden", null, {
    timeout: 10000,
  });
  return { page, problems };
}

/// Runs a test body; on failure the message carries what `aushang serve` printed, and the
/// notice file is put back so the next test starts from the example content.
function withLog(body) {
  return async (t) => {
    const original = readFileSync(join(site, FILE), "utf8");
    try {
      await body(t);
    } catch (err) {
      err.message += `\n--- aushang serve output ---\n${serve.output()}`;
      throw err;
    } finally {
      if (readFileSync(join(site, FILE), "utf8") !== original) {
        writeFileSync(join(site, FILE), original);
        await new Promise((ok) => setTimeout(ok, 1000));
      }
    }
  };
}

function setTitle(text, title) {
  return text.replace(/^title: .*$/m, `title: ${title}`);
}

test("an edited title shows in the open page within 2 seconds, without a manual reload", withLog(async (t) => {
  const { page, problems } = await openLive(NOTICE);
  const original = readFileSync(join(site, FILE), "utf8");
  assert.notEqual(await page.locator("h1").innerText(), "Neuer Titel aus dem Editor");

  const started = Date.now();
  writeFileSync(join(site, FILE), setTitle(original, "Neuer Titel aus dem Editor"));
  await page.waitForFunction(
    () => document.querySelector("h1")?.textContent === "Neuer Titel aus dem Editor",
    null,
    { timeout: 2000, polling: 50 },
  );
  const took = Date.now() - started;
  t.diagnostic(`the page showed the new title ${took} ms after the file was written`);
  assert.ok(took < 2000, `took ${took} ms`);
  assert.equal(await page.title(), "Neuer Titel aus dem Editor – Stadt Musterbach – Bekanntmachungen");
  assert.deepEqual(problems, []);
  writeFileSync(join(site, FILE), original);
  await page.close();
}));

test("only tabs whose page changed reload: the front page does, the Impressum does not", withLog(async () => {
  const front = await openLive("/");
  const impressum = await openLive("/impressum/");
  await front.page.evaluate(() => (window.keptState = "ja"));
  await impressum.page.evaluate(() => (window.keptState = "ja"));
  const original = readFileSync(join(site, FILE), "utf8");
  writeFileSync(join(site, FILE), setTitle(original, "Titel für die Startseite"));
  await front.page.waitForFunction(() => document.body.textContent.includes("Titel für die Startseite"), null, {
    timeout: 10000,
  });
  assert.equal(await front.page.evaluate(() => window.keptState), undefined, "the front page was reloaded");
  // The full rebuild is done once the front page shows the new title; give events time to arrive.
  await new Promise((ok) => setTimeout(ok, 500));
  assert.equal(await impressum.page.evaluate(() => window.keptState), "ja", "the Impressum was reloaded");
  writeFileSync(join(site, FILE), original);
  await front.page.waitForFunction(() => !document.body.textContent.includes("Titel für die Startseite"), null, {
    timeout: 10000,
  });
  assert.deepEqual([...front.problems, ...impressum.problems], []);
  await front.page.close();
  await impressum.page.close();
}));

test("a broken notice shows the error in the page; fixing the file brings the page back", withLog(async () => {
  const { page } = await openLive(NOTICE);
  const original = readFileSync(join(site, FILE), "utf8");
  writeFileSync(join(site, FILE), original.replace(/^title: /m, "titel: "));
  await page.waitForFunction(() => document.querySelector("h1")?.textContent.includes("nicht erstellt werden"), null, {
    timeout: 10000,
  });
  const diagnostics = await page.locator("pre.diagnose").innerText();
  assert.match(diagnostics, new RegExp(`${FILE.replaceAll(".", "\\.")}:2:1`));
  assert.match(diagnostics, /meinten Sie `title`\?/);
  assert.deepEqual(await axeViolations(page), []);

  // The error page reloads itself too once the file is fixed.
  await page.waitForFunction(() => document.documentElement.dataset.aushangLive === "verbunden");
  writeFileSync(join(site, FILE), original);
  await page.waitForFunction(() => document.querySelector("h1")?.textContent.includes("Birkenstraße"), null, {
    timeout: 10000,
  });
  await page.close();
}));

test("the notice page links to its broadcast preview, which shows the exact message", withLog(async () => {
  const { page, problems } = await openLive(NOTICE);
  // The banner is serve-only, not the first tab stop, and does not break the page's audit.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute("href")), "#haupt_inhalt");
  assert.deepEqual(await axeViolations(page), []);

  await page.getByRole("link", { name: "WhatsApp-Nachricht zu dieser Bekanntmachung" }).click();
  await page.waitForURL(`${serve.url}/_vorschau${NOTICE}`);
  const bubble = await page.locator("pre.blase").first().innerText();
  assert.match(bubble, /^Neue Bekanntmachung der Stadt Musterbach: Stromabschaltung/);
  assert.match(bubble, /\[ Bekanntmachung lesen \] → https:\/\/www\.musterbach\.example\/bekanntmachungen\/2026\/stromabschaltung-birkenstrasse\/$/);
  const width = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(width <= 0, "the preview fits a phone screen");
  assert.deepEqual(await axeViolations(page), []);
  assert.deepEqual(problems, []);
  await page.close();
}));
