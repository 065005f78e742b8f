// The web editor at /redaktion/ (Decap CMS, built into the site by `aushang build` when
// aushang.yaml has `editor:`) in Chromium, against Decap's local git backend (decap-server,
// editorial workflow) on a temporary repository: a notice with umlauts written in the form lands
// on its own branch (the pull request), passes `aushang check`, builds, sits where `aushang new`
// would put it, and the message the form's preview showed is the one `broadcast --dry-run`
// shows. A summary over 600 characters, an image without description and an unknown category
// are refused before anything is saved. The editor loads nothing from outside the site.
// Screenshots of the form go to target/browser-artifacts/ (and to docs/images/ with
// AUSHANG_SCREENSHOTS=docs, for the README).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AUSHANG, REPO, artifactPath, axeRun, launchBrowser, openPage } from "./helpers.mjs";
import { build, git, makeRepo, siteWithApi, startDecapServer } from "./editor-setup.mjs";

const NOW = "2026-12-06T12:00";
const TITLE = "Sperrung der Hönnestraße für Müllfahrzeuge";
const SUMMARY =
  "Die Hönnestraße ist am Montag für Müllfahrzeuge gesperrt; die Abfuhr kommt über die Bahnhofstraße, bitte stellen Sie die Tonnen an die Ecke Gärtnerweg.";
const BODY = "Die Straße wird erneuert. Größere Fahrzeuge können nicht wenden.";
// A notice whose category aushang.yaml no longer has: the editor must not save it unchanged.
const OLD_NOTICE = "content/notices/2026/2026-11-20-alte-kategorie.md";
const OLD_NOTICE_TEXT =
  "---\ntitle: Tag der offenen Tür im Bauhof\ndate: 2026-11-20 10:00\nsummary: Der Bauhof öffnet am Samstag seine Tore.\ncategory: sport\n---\nAlle sind eingeladen.\n";

let dir;
let repo;
let out;
let api;
let site;
let browser;
let page;
let problems;
let promptAnswer = "";
const requests = [];
/// Every console message of the editor page: its type, text and the address it came from.
const consoleMessages = [];
const screenshotsToDocs = process.env.AUSHANG_SCREENSHOTS === "docs";

async function screenshot(name) {
  const file = artifactPath(`editor-${name}.png`);
  await page.screenshot({ path: file });
  if (screenshotsToDocs) {
    mkdirSync(join(REPO, "docs", "images"), { recursive: true });
    copyFileSync(file, join(REPO, "docs", "images", `redaktion-${name}.png`));
  }
}

const field = (name) => page.locator(`[id^="${name}-field-"]`).first();

function cmsBranches() {
  return git(repo, "branch", "--list", "cms/*")
    .split("\n")
    .map((b) => b.replace(/^[*+]?\s*/, "").trim())
    .filter(Boolean);
}

/// Opens `hash` of the editor in a freshly loaded page (no form state left from a test before).
async function openEditor(hash) {
  await reload(hash);
  await field("title").waitFor();
}

async function reload(hash) {
  await page.goto("about:blank");
  await page.goto(`${site.url}/redaktion/${hash}`);
}

async function newNotice() {
  await openEditor("#/collections/notices/new");
}

/// Writes `text` into the Markdown body (Decap's rich-text editor).
async function typeBody(text) {
  await page.locator('[contenteditable="true"]').first().click();
  await page.keyboard.type(text);
}

async function fillRequired(title = TITLE, summary = SUMMARY) {
  await field("title").fill(title);
  await field("date").fill("2026-12-06T09:30");
  await field("summary").fill(summary);
}

/// What a date or time input shows (its fields and separators, in the browser's language): read
/// through the DevTools protocol, which sees into the input's user-agent shadow tree.
async function shownText(locator) {
  const id = await locator.getAttribute("id");
  const cdp = await browser.context.newCDPSession(page);
  try {
    const { root } = await cdp.send("DOM.getDocument", { depth: -1, pierce: true });
    const find = (n) => {
      if (n.attributes && n.attributes.includes("id") && n.attributes[n.attributes.indexOf("id") + 1] === id) return n;
      for (const c of [...(n.shadowRoots || []), ...(n.children || []), ...(n.contentDocument ? [n.contentDocument] : [])]) {
        const found = find(c);
        if (found) return found;
      }
      return null;
    };
    const texts = [];
    const walk = (n) => {
      if (n.nodeType === 3) texts.push(n.nodeValue);
      for (const c of [...(n.shadowRoots || []), ...(n.children || [])]) walk(c);
    };
    walk(find(root));
    return texts.join("").trim();
  } finally {
    await cdp.detach();
  }
}

/// Clicks "Speichern" and waits for Decap to either save (a new branch) or show errors.
async function save() {
  await page.getByRole("button", { name: "Speichern", exact: true }).click();
}

/// The text of the first message in the preview pane (the notice's WhatsApp message).
async function previewMessage() {
  const pre = page.frameLocator("iframe").locator("pre.nachricht").first();
  await pre.waitFor();
  return pre.textContent();
}

/// The message lines `aushang broadcast --dry-run` shows for the notice titled `title`.
function dryRunMessage(root, title) {
  const output = execFileSync(AUSHANG, ["--root", root, "broadcast", "--dry-run", "--now", NOW], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WHATSAPP_TOKEN: "" },
  });
  const lines = output.split("\n");
  const start = lines.indexOf(`### ${title}`);
  assert.ok(start >= 0, `no preview for ${title} in:\n${output}`);
  const quoted = [];
  let header = null;
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith("### ")) break;
    if (line.startsWith("- Versand als: ")) header = line.slice("- Versand als: ".length);
    if (line.startsWith(">")) quoted.push(line.replace(/^> ?/, ""));
    else if (quoted.length) break;
  }
  return { text: quoted.join("\n"), header };
}

describe("the web editor at /redaktion/", () => {
  before(async () => {
    ({ dir, repo } = makeRepo());
    out = join(dir, "public");
    build(repo, out, NOW);
    // Written after the build (which refuses it) and committed: an old notice the form opens.
    writeFileSync(join(repo, OLD_NOTICE), OLD_NOTICE_TEXT);
    git(repo, "add", "-A");
    git(repo, "commit", "-qm", "Bekanntmachung mit einer Kategorie, die es nicht mehr gibt");
    api = await startDecapServer(repo, dir);
    site = await siteWithApi(out, api.port);
    browser = await launchBrowser({ locale: "de-DE", timezoneId: "Europe/Berlin" });
    ({ page, problems } = await openPage(browser.context, { width: 1280, height: 900 }));
    page.on("request", (r) => requests.push(r.url()));
    page.on("console", (m) => consoleMessages.push({ type: m.type(), text: m.text(), url: m.location().url }));
    // "Leave this page?" with unsaved changes: yes (each test starts afresh); any other question
    // (restore a local backup?): no; the image address prompt: the answer the test set.
    page.on("dialog", (d) => {
      if (d.type() === "prompt") return d.accept(promptAnswer);
      if (d.type() === "beforeunload" || /verlassen/.test(d.message())) return d.accept();
      return d.dismiss();
    });
    await page.goto(`${site.url}/redaktion/`);
    await page.getByRole("button", { name: /Login|Anmelden|einloggen/ }).click();
    await page.getByText("Bekanntmachungen").first().waitFor();
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("is built only with editor: settings, noindex and not in the sitemap", () => {
    const html = readFileSync(join(out, "redaktion", "index.html"), "utf8");
    assert.match(html, /<meta name="robots" content="noindex, nofollow">/);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; script-src 'self'/);
    assert.ok(!readFileSync(join(out, "sitemap.xml"), "utf8").includes("redaktion"));
    const plain = join(dir, "ohne-redaktion");
    execFileSync(AUSHANG, ["--root", REPO, "build", "--now", NOW, "--out", plain], { stdio: "ignore" });
    assert.ok(!existsSync(join(plain, "redaktion")), "an editor without editor: in aushang.yaml");
  });

  test("refuses a summary over 600 characters before saving", async () => {
    await newNotice();
    const tooLong = "Die Hönnestraße ist von Montag bis Freitag zwischen Markt und Bahnhof gesperrt. ".repeat(8);
    assert.ok(Array.from(tooLong.trim()).length > 600);
    await fillRequired("Zu lange Kurzfassung", tooLong);
    await typeBody(BODY);
    await save();
    await page.getByText(/Kurzfassung entspricht nicht dem Muster: eine Zeile .* höchstens 600 Zeichen/).waitFor();
    await page.locator('label[for^="title-field-"]').scrollIntoViewIfNeeded();
    await screenshot("fehler");
    assert.deepEqual(cmsBranches(), []);
    // 600 are fine for the form (and for check, see the Rust tests).
    await field("summary").fill("Ä".repeat(600));
    assert.equal(await page.getByText(/Kurzfassung entspricht nicht dem Muster/).count(), 0);
  });

  test("refuses an image without a description before saving", async () => {
    await newNotice();
    await fillRequired("Bild ohne Beschreibung");
    await typeBody(BODY);
    promptAnswer = "/bilder/sommerfest-marktplatz.png";
    await page.getByRole("button", { name: "Von URL hinzufügen" }).first().click();
    await save();
    await page.getByText(/Bildbeschreibung fehlt/).waitFor();
    await page.waitForTimeout(500);
    assert.deepEqual(cmsBranches(), []);
    await field("image_alt").fill("Festzelt auf dem Marktplatz");
    assert.equal(await page.getByText(/Bildbeschreibung fehlt/).count(), 0);
  });

  test("refuses a category aushang.yaml does not have before saving", async () => {
    await openEditor("#/collections/notices/entries/2026/2026-11-20-alte-kategorie");
    await field("title").fill("Tag der offenen Tür im Bauhof am Samstag");
    await save();
    await page.getByText(/Kategorie entspricht nicht dem Muster: eine der Kategorien aus aushang.yaml/).waitFor();
    await page.waitForTimeout(500);
    assert.deepEqual(cmsBranches(), []);
  });

  test("saves a notice with umlauts as a branch that passes check, builds and sends the previewed message", async () => {
    await newNotice();
    await fillRequired();
    await field("category").focus();
    await page.keyboard.type("Verkehr");
    await page.keyboard.press("Enter");
    await typeBody(BODY);
    const shown = await previewMessage();
    assert.ok(shown.includes(TITLE) && shown.includes(SUMMARY), shown);
    // Our preview (page and message) in its frame: German, titled, named, no axe violation.
    const previewFrame = page.locator("iframe#preview-pane");
    assert.equal(await previewFrame.getAttribute("title"), "Vorschau");
    const preview = await (await previewFrame.elementHandle()).contentFrame();
    assert.equal(await preview.getAttribute("html", "lang"), "de");
    assert.equal(await preview.title(), `Vorschau: ${TITLE}`);
    assert.deepEqual(await axeRun(preview), []);
    // The form around it is Decap's; what axe finds there is Decap's own (docs/editor.md,
    // "Limits"): its markdown toolbar (buttons without names, nested interactive elements), its
    // rich-text box without a name, grey text below 4.5:1. Nothing else may show up.
    const decapOwn = ["aria-input-field-name", "aria-required-attr", "button-name", "color-contrast", "nested-interactive"];
    const found = await axeRun(page);
    assert.deepEqual(found.filter((v) => !decapOwn.includes(v.id)), [], JSON.stringify(found, null, 1));
    // Date and time as editors in a German town hall see them (and the screenshot shows).
    assert.equal(await shownText(field("date")), "06.12.2026, 09:30");
    await page.locator('label[for^="title-field-"]').scrollIntoViewIfNeeded();
    await screenshot("formular");
    await save();
    await page.getByText("Beitrag gespeichert").first().waitFor();
    const branches = cmsBranches();
    assert.equal(branches.length, 1, "one branch for the new notice");
    const [branch] = branches;
    const changed = git(repo, "diff", "--name-only", "main", branch).trim().split("\n");
    const expected = "content/notices/2026/2026-12-06-sperrung-der-hoennestrasse-fuer-muellfahrzeuge.md";
    assert.deepEqual(changed, [expected]);

    // Where `aushang new` puts a notice of that title at that time.
    const scratch = join(dir, "neu");
    execFileSync("git", ["clone", "-q", "-b", "main", repo, scratch]);
    const made = execFileSync(AUSHANG, ["--root", scratch, "new", TITLE, "--now", "2026-12-06T09:30"], {
      encoding: "utf8",
    });
    assert.equal(made.trim(), expected);

    // The branch as the pull request check sees it (without the old notice this test added).
    const checkout = join(dir, "pull-request");
    execFileSync("git", ["clone", "-q", "-b", branch, repo, checkout]);
    rmSync(join(checkout, OLD_NOTICE));
    const saved = readFileSync(join(checkout, expected), "utf8");
    assert.match(saved, /^title: Sperrung der Hönnestraße für Müllfahrzeuge$/m);
    assert.ok(saved.includes(BODY), saved);
    const check = spawnSync(AUSHANG, ["--root", checkout, "check"], { encoding: "utf8" });
    assert.equal(check.status, 0, `${check.stdout}\n${check.stderr}`);
    execFileSync(AUSHANG, ["--root", checkout, "build", "--now", NOW, "--out", join(dir, "pr-site")], {
      stdio: "ignore",
    });
    const page_html = readFileSync(
      join(dir, "pr-site", "bekanntmachungen", "2026", "sperrung-der-hoennestrasse-fuer-muellfahrzeuge", "index.html"),
      "utf8",
    );
    assert.ok(page_html.includes("Sperrung der Hönnestraße für Müllfahrzeuge"));

    const dry = dryRunMessage(checkout, TITLE);
    assert.equal(shown, dry.text);
    const header = await page.frameLocator("iframe").locator(".versand").textContent();
    assert.equal(header, `Versand als: ${dry.header}`);

    await reload("#/workflow");
    await page.getByText(TITLE).first().waitFor();
    // The German labels the README names: the menu entry and the columns; the notice is a draft.
    await page.getByRole("link", { name: "Arbeitsablauf", exact: true }).waitFor();
    for (const column of ["Entwurf", "In Prüfung", "Abgeschlossen"]) {
      await page.getByText(column, { exact: true }).waitFor();
    }
    await screenshot("arbeitsablauf");
  });

  test("forms a notice's address from its title as aushang new does", async () => {
    const titles = [
      "Änderung: Öffnungszeiten für Übergänge!",
      "GROẞE Straße",
      "  Müllabfuhr  – 2. Dezember ",
      "Café „Crème“ à la carte",
      "Wasserrohrbruch (B 27) – 1.200 m",
    ];
    const fromForm = await page.evaluate((ts) => ts.map((t) => window.aushangEditor.slugify(t)), titles);
    const scratch = join(dir, "adressen");
    execFileSync("git", ["clone", "-q", "-b", "main", repo, scratch]);
    const fromNew = titles.map((t) => {
      const file = execFileSync(AUSHANG, ["--root", scratch, "new", t, "--now", NOW], { encoding: "utf8" }).trim();
      return file.replace(/^content\/notices\/2026\/2026-12-06-/, "").replace(/\.md$/, "");
    });
    assert.deepEqual(fromForm, fromNew);
  });

  test("logs no console error of its own", () => {
    // Decap's own, named: it asks decap-server for entries and media that do not exist yet
    // (a new notice's file, an empty media folder), each a 404 from /api/v1 the browser logs.
    const decapOwn = (m) =>
      m.text === "Failed to load resource: the server responded with a status of 404 (Not Found)" &&
      m.url === `${site.url}/api/v1`;
    const errors = consoleMessages.filter((m) => (m.type === "error" || m.type === "warning") && !decapOwn(m));
    assert.deepEqual(errors, []);
    // The page names the site's icon (static/favicon.svg) and Chromium loads it: without the
    // link a browser asks for /favicon.ico, a 404 (headless Chromium asks for none at all).
    assert.ok(requests.includes(`${site.url}/favicon.svg`), "the editor page loaded no /favicon.svg");
  });

  test("loads nothing from outside the site", () => {
    const outside = requests.filter(
      (u) => !u.startsWith(`${site.url}/`) && !u.startsWith("data:") && !u.startsWith("blob:"),
    );
    assert.deepEqual(outside, []);
    assert.ok(requests.some((u) => u.endsWith("/redaktion/decap-cms.js")));
    // Decap asks its backend for files that do not exist yet (404), and rejects a refused save
    // with no reason (an "uncaught" undefined); nothing else may go wrong.
    assert.deepEqual(
      problems.filter((p) => !/HTTP 404: .*\/api\/v1$|status of 404 \(Not Found\)$|^page error: undefined$/.test(p)),
      [],
    );
  });
});
