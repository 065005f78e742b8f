// The example site as citizens get it (`aushang build` output on a plain static host), in a real
// browser: every page type at phone and desktop size without console errors or sideways
// scrolling, an axe-core WCAG 2.1 A/AA audit, the skip link, and screenshots for CI artefacts.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import {
  VIEWPORTS,
  artifactPath,
  axeViolations,
  buildExampleSite,
  launchBrowser,
  openPage,
  staticServer,
} from "./helpers.mjs";

// One page of every type the site has (notices: with update, image, attachment, urgent, expired).
const PAGES = [
  { type: "front page", path: "/" },
  { type: "notice with update", path: "/bekanntmachungen/2026/strassensperrung-hoennestrasse/" },
  { type: "notice with image", path: "/bekanntmachungen/2026/sommerfest-2027-vereine/" },
  { type: "notice with attachment", path: "/bekanntmachungen/2026/ratssitzung-dezember/" },
  { type: "urgent notice", path: "/bekanntmachungen/2026/abkochgebot-trinkwasser-oststadt/" },
  { type: "expired notice", path: "/bekanntmachungen/2026/parkplatz-friedhof-allerheiligen/" },
  { type: "category page", path: "/kategorie/verkehr/" },
  { type: "archive index", path: "/archiv/" },
  { type: "archive year", path: "/archiv/2026/" },
  { type: "standing page Impressum", path: "/impressum/" },
  { type: "standing page Datenschutz", path: "/datenschutz/" },
  { type: "standing page Barrierefreiheit", path: "/barrierefreiheit/" },
  { type: "standing page Anmelden", path: "/anmelden/" },
  { type: "404 page", path: "/gibt-es-nicht/", status: 404 },
];

let built;
let server;
let browser;

before(async () => {
  built = buildExampleSite();
  server = await staticServer(built.out);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (built) rmSync(built.site, { recursive: true, force: true });
});

for (const viewport of VIEWPORTS) {
  describe(`at ${viewport.width}×${viewport.height}`, () => {
    for (const { type, path, status = 200 } of PAGES) {
      test(`${type} (${path}) loads cleanly, fits the width, has a feed link`, async () => {
        const { page, problems } = await openPage(browser.context, viewport);
        const res = await page.goto(server.url + path, { waitUntil: "load" });
        assert.equal(res.status(), status);
        if (status === 404) {
          // Chromium reports the 404 of the page itself as a console error; it is intended.
          const i = problems.findIndex((p) => p.includes("status of 404"));
          if (i >= 0) problems.splice(i, 1);
          assert.match(await page.locator("h1").innerText(), /nicht gefunden/);
        }
        assert.deepEqual(problems, [], `${path}: ${problems.join("\n")}`);

        const widths = await page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          viewport: document.documentElement.clientWidth,
        }));
        assert.ok(
          widths.scroll <= widths.viewport,
          `${path} scrolls sideways: content ${widths.scroll}px wide in a ${widths.viewport}px window`,
        );
        // What overflows (for the message): elements wider than the window.
        const feed = await page.locator('head link[rel="alternate"][type="application/atom+xml"]');
        assert.ok((await feed.count()) >= 1, `${path} has no feed link`);
        const href = await feed.first().getAttribute("href");
        assert.match(href, /^https:\/\/www\.musterbach\.example\/.*atom\.xml$/);
        // The feed the link names exists in the build.
        const local = await page.request.get(server.url + new URL(href).pathname);
        assert.equal(local.status(), 200, `${href} is not built`);
        assert.match(await local.text(), /<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom"/);

        if (path === "/" || path === PAGES[1].path) {
          const name = path === "/" ? "front" : "notice";
          await page.screenshot({ path: artifactPath(`${name}-${viewport.width}.png`), fullPage: true });
        }
        await page.close();
      });
    }
  });
}

describe("accessibility audit (axe-core, WCAG 2.1 A and AA)", () => {
  for (const { type, path } of PAGES) {
    for (const viewport of VIEWPORTS) {
      test(`${type} at ${viewport.width} px has no violations`, async () => {
        const { page } = await openPage(browser.context, viewport);
        await page.goto(server.url + path, { waitUntil: "load" });
        const violations = await axeViolations(page);
        assert.deepEqual(violations, [], `${path}:\n${violations.join("\n")}`);
        await page.close();
      });
    }
  }
});

describe("keyboard", () => {
  for (const path of ["/", PAGES[1].path]) {
    test(`on ${path} the skip link is the first tab stop and moves focus to the main content`, async () => {
      const { page, problems } = await openPage(browser.context, VIEWPORTS[0]);
      await page.goto(server.url + path, { waitUntil: "load" });
      await page.keyboard.press("Tab");
      const first = await page.evaluate(() => {
        const el = document.activeElement;
        const box = el.getBoundingClientRect();
        return {
          tag: el.tagName,
          href: el.getAttribute("href"),
          text: el.textContent.trim(),
          visible: box.width > 0 && box.height > 0 && box.top >= 0 && box.left >= 0,
        };
      });
      assert.deepEqual(first, {
        tag: "A",
        href: "#haupt_inhalt",
        text: "Zum Inhalt springen",
        visible: true,
      });
      await page.keyboard.press("Enter");
      const focused = await page.evaluate(() => ({
        tag: document.activeElement.tagName,
        id: document.activeElement.id,
      }));
      assert.deepEqual(focused, { tag: "MAIN", id: "haupt_inhalt" });
      // The next Tab continues inside the main content, not back in the header.
      await page.keyboard.press("Tab");
      const inMain = await page.evaluate(() => document.activeElement.closest("main") !== null);
      assert.ok(inMain, "the tab after the skip link lands inside <main>");
      assert.deepEqual(problems, []);
      await page.close();
    });
  }
});
