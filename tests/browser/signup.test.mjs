// The sign-up form on the Anmelden page against the real inbox server, in a real browser: the
// example site is built with `inbox.url` pointing at `aushang inbox serve --port 0` on 127.0.0.1;
// Chromium fills and sends the form (with JavaScript after the minimum fill time, without
// JavaScript through the review page, and by keyboard only), and the test checks the German
// result pages (axe-core WCAG 2.1 A/AA), the error page for a bad number, and that each sign-up
// became an age-encrypted event file in the inbox's data folder with no number in plain text.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AUSHANG,
  NOW,
  REPO,
  VIEWPORTS,
  artifactPath,
  axeViolations,
  launchBrowser,
  openPage,
  staticServer,
} from "./helpers.mjs";

// Fictitious mobile numbers (never real subscribers), as typed and as stored.
const JS_NUMBER = { typed: "0152 00000201", e164: "+4915200000201" };
const NOJS_NUMBER = { typed: "0152 00000202", e164: "+4915200000202" };
const KEY_NUMBER = { typed: "0152 00000203", e164: "+4915200000203" };
const BAD_NUMBER = "0152 12";
const ALL_DIGITS = [JS_NUMBER, NOJS_NUMBER, KEY_NUMBER].flatMap((n) => [
  n.e164,
  n.e164.slice(1),
  n.typed,
  n.typed.replace(/ /g, ""),
  n.typed.slice(-6),
]);

let dir; // temp folder: the site copy and the inbox's data
let site;
let data;
let inbox; // { url, output(), stop() }
let server; // the built site on a static host
let browser;
let noScript;

/// Starts `aushang inbox serve --port 0` and resolves with the address it printed.
async function startInbox() {
  const child = spawn(AUSHANG, ["--root", site, "inbox", "serve", "--port", "0", "--data", data], {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      WHATSAPP_APP_SECRET: "browser-test-app-secret-0123456789",
      WHATSAPP_VERIFY_TOKEN: "browser-test-verify-token",
      AUSHANG_INBOX_PULL_TOKEN: "browser-test-pull-token-0123456789",
      // No WhatsApp token: the server answers nothing and reaches no one.
      WHATSAPP_TOKEN: "",
    },
  });
  let output = "";
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`aushang inbox serve did not start:\n${output}`)), 30000);
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const m = output.match(/Posteingang läuft unter (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.stderr.on("data", (c) => (output += c));
    child.on("exit", (code) => fail(new Error(`aushang inbox serve exited (${code}):\n${output}`)));
  });
  return {
    url,
    output: () => output,
    stop: () =>
      new Promise((ok) => {
        if (child.exitCode !== null) return ok();
        child.once("exit", ok);
        child.kill("SIGTERM");
      }),
  };
}

function eventFiles() {
  try {
    return readdirSync(join(data, "events"))
      .filter((f) => f.endsWith(".age"))
      .map((f) => join(data, "events", f));
  } catch {
    return [];
  }
}

function allFiles(root) {
  return readdirSync(root, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? allFiles(join(root, e.name)) : [join(root, e.name)],
  );
}

/// The events decrypted with the example's demo key by the real `age` CLI.
function decryptedEvents() {
  return eventFiles().map((f) =>
    JSON.parse(
      execFileSync("age", ["--decrypt", "-i", join(site, "subscribers", "demo-identity.txt"), f], {
        encoding: "utf8",
      }),
    ),
  );
}

/// The sign-up events whose address is `e164`.
function signupsOf(e164) {
  return decryptedEvents().filter((e) => JSON.stringify(e).includes(e164));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "aushang-browser-signup-"));
  site = join(dir, "site");
  data = join(dir, "inbox-data");
  for (const sub of ["content", "static", "templates", "subscribers"]) {
    cpSync(join(REPO, sub), join(site, sub), { recursive: true });
  }
  const example = readFileSync(join(REPO, "aushang.yaml"), "utf8");
  assert.match(example, /\ninbox:\n {2}url: https:\/\/inbox\.musterbach\.example\/\n/, "the example has an inbox");
  // Several sign-ups come from 127.0.0.1 in this file; the limit itself is tested in tests/inbox.
  const local = example.replace(/signups_per_ip_per_hour: \d+/, "signups_per_ip_per_hour: 100");
  writeFileSync(join(site, "aushang.yaml"), local);
  inbox = await startInbox();
  // The site is built only now, with the form posting to the port the inbox got.
  writeFileSync(
    join(site, "aushang.yaml"),
    local.replace("https://inbox.musterbach.example/", `${inbox.url}/`),
  );
  execFileSync(AUSHANG, ["--root", site, "build", "--now", NOW, "--out", join(site, "public")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  server = await staticServer(join(site, "public"));
  browser = await launchBrowser();
  noScript = await launchBrowser({ javaScriptEnabled: false });
});

after(async () => {
  await browser?.close();
  await noScript?.close();
  await server?.close();
  if (inbox) {
    await inbox.stop();
    // Nothing the server logged names a number.
    for (const n of ALL_DIGITS) assert.ok(!inbox.output().includes(n), `the inbox logged ${n}`);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/// Fills the form as a person would; `topics` are category ids.
async function fill(page, number, { name = "", topics = [], consent = true } = {}) {
  await page.getByLabel("Ihre Handynummer (für WhatsApp)").fill(number);
  if (name) await page.getByLabel("Ihr Name (freiwillig)").fill(name);
  for (const t of topics) await page.locator(`#f-thema-${t}`).check();
  if (consent) await page.locator("#f-einwilligung").check();
}

describe("the Anmelden page with the sign-up form", () => {
  for (const viewport of VIEWPORTS) {
    test(`at ${viewport.width} px: posts to the inbox, every field has a visible label, no axe violations`, async () => {
      const { page, problems } = await openPage(browser.context, viewport);
      await page.goto(`${server.url}/anmelden/`, { waitUntil: "load" });
      const form = page.locator("form[method=post]");
      assert.equal(await form.getAttribute("action"), `${inbox.url}/signup`);
      // Every control a person uses has a label that is on screen (not just for screen readers).
      const controls = await page.evaluate(() =>
        [...document.querySelectorAll("form input, form button")]
          .filter((el) => el.type !== "hidden" && !el.closest("[aria-hidden=true]"))
          .map((el) => {
            const labels = el.tagName === "BUTTON" ? [el] : [...el.labels];
            const visible = labels.some((l) => {
              const r = l.getBoundingClientRect();
              const s = getComputedStyle(l);
              return (
                r.width > 1 &&
                r.height > 1 &&
                r.left >= 0 &&
                r.right <= document.documentElement.clientWidth &&
                s.visibility === "visible" &&
                s.opacity !== "0" &&
                l.textContent.trim().length > 0
              );
            });
            return { id: el.id || el.name, visible };
          }),
      );
      const ids = controls.map((c) => c.id);
      for (const needed of ["f-nummer", "f-name", "f-thema-verkehr", "f-thema-abfall", "f-einwilligung"]) {
        assert.ok(ids.includes(needed), `${needed} missing from the form: ${ids}`);
      }
      assert.deepEqual(
        controls.filter((c) => !c.visible).map((c) => c.id),
        [],
        "controls without a visible label",
      );
      const legend = await page.locator("form fieldset legend").boundingBox();
      assert.ok(legend && legend.width > 1, "the topic group has a visible legend");
      // The honeypot is out of reach for people: hidden from assistive technology and not a tab stop.
      const trap = page.locator("#f-website");
      assert.equal(await trap.getAttribute("tabindex"), "-1");
      assert.equal(await page.locator("#f-website").evaluate((el) => el.closest("[aria-hidden=true]") !== null), true);
      const violations = await axeViolations(page);
      assert.deepEqual(violations, [], violations.join("\n"));
      await page.screenshot({ path: artifactPath(`anmelden-form-${viewport.width}.png`), fullPage: true });
      assert.deepEqual(problems, []);
      await page.close();
    });
  }

  test("a missing number or consent is refused by the browser before sending, naming the field", async () => {
    const { page } = await openPage(browser.context, VIEWPORTS[0]);
    await page.goto(`${server.url}/anmelden/`, { waitUntil: "load" });
    const before = eventFiles().length;
    await page.getByRole("button", { name: "Anmelden" }).click();
    assert.equal(new URL(page.url()).pathname, "/anmelden/", "the empty form was sent");
    const invalid = await page.evaluate(() =>
      [...document.querySelectorAll("form :invalid")].map((el) => ({
        id: el.id,
        message: el.validationMessage,
      })),
    );
    assert.deepEqual(
      invalid.map((i) => i.id),
      ["f-nummer", "f-einwilligung"],
    );
    assert.ok(invalid.every((i) => i.message.length > 0), "each refusal has a message");
    assert.equal(eventFiles().length, before);
    await page.close();
  });
});

describe("sending the form to the real inbox", () => {
  test("with JavaScript, after the minimum fill time: the German thank-you page and an encrypted event", async () => {
    const { page, problems } = await openPage(browser.context, VIEWPORTS[0]);
    await page.goto(`${server.url}/anmelden/`, { waitUntil: "load" });
    await fill(page, JS_NUMBER.typed, { name: "Erika Beispiel", topics: ["abfall", "verkehr"] });
    // The script fetched a server-signed stamp: the inbox, not the browser, measures the fill time.
    await page.waitForFunction(() => document.getElementById("f-stempel").value !== "");
    assert.match(await page.locator("#f-stempel").inputValue(), /^f\d+\.[0-9a-f]{64}$/);
    // min_fill_seconds is 3 in the example.
    await page.waitForTimeout(3300);
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.getByRole("button", { name: "Anmelden" }).click(),
    ]);
    assert.equal(response.status(), 200);
    assert.equal(response.url(), `${inbox.url}/signup`);
    assert.equal(await page.locator("h1").innerText(), "Anmeldung erhalten");
    assert.equal(await page.locator("html").getAttribute("lang"), "de");
    const text = await page.locator("main").innerText();
    assert.match(text, /antworten Sie darauf mit JA/);
    assert.ok(!text.includes("00000201"), "the page echoes the number");
    const violations = await axeViolations(page);
    assert.deepEqual(violations, [], violations.join("\n"));

    const files = eventFiles();
    assert.equal(files.length, 1, "one event file");
    const stored = readFileSync(files[0], "utf8");
    assert.match(stored, /^-----BEGIN AGE ENCRYPTED FILE-----/);
    for (const n of ALL_DIGITS) assert.ok(!stored.includes(n), `plain number ${n} in ${files[0]}`);
    const [event] = signupsOf(JS_NUMBER.e164);
    assert.ok(event, "the event decrypts to this sign-up");
    assert.equal(event.event.kind, "signup");
    assert.equal(event.event.address, JS_NUMBER.e164);
    assert.match(JSON.stringify(event), /"abfall"/);
    assert.match(JSON.stringify(event), /"verkehr"/);
    assert.match(JSON.stringify(event), /Erika Beispiel/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("without JavaScript: one review step, then the thank-you page and an encrypted event", async () => {
    const { page, problems } = await openPage(noScript.context, VIEWPORTS[0]);
    await page.goto(`${server.url}/anmelden/`, { waitUntil: "load" });
    assert.equal(await page.locator("#f-stempel").inputValue(), "", "the script must not have run");
    await fill(page, NOJS_NUMBER.typed, { topics: ["rat"] });
    const before = eventFiles().length;
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Anmelden" }).click()]);
    assert.equal(await page.locator("h1").innerText(), "Anmeldung bestätigen");
    const review = await page.locator("main").innerText();
    assert.match(review, /\+49152\*+202/, "the number is shown masked");
    assert.ok(!review.includes(NOJS_NUMBER.e164), "the page shows the number in full");
    assert.equal(eventFiles().length, before, "nothing is stored before the review");
    // The server-signed stamp must be at least a second old.
    await page.waitForTimeout(1200);
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.getByRole("button", { name: "Anmeldung absenden" }).click(),
    ]);
    assert.equal(response.status(), 200);
    assert.equal(await page.locator("h1").innerText(), "Anmeldung erhalten");
    assert.equal(eventFiles().length, before + 1);
    const [event] = signupsOf(NOJS_NUMBER.e164);
    assert.ok(event, "the event decrypts to this sign-up");
    assert.match(JSON.stringify(event), /"rat"/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("a bad number gets an accessible error page that names the field and keeps the number out", async () => {
    const { page, problems } = await openPage(browser.context, VIEWPORTS[1]);
    await page.goto(`${server.url}/anmelden/`, { waitUntil: "load" });
    await fill(page, BAD_NUMBER);
    const before = eventFiles().length;
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.getByRole("button", { name: "Anmelden" }).click(),
    ]);
    assert.equal(response.status(), 400);
    assert.equal(await page.locator("h1").innerText(), "Bitte prüfen Sie Ihre Angaben");
    assert.match(await page.title(), /^Bitte prüfen Sie Ihre Angaben/);
    // Announced at once by screen readers, and it says which field is wrong.
    const alert = page.getByRole("alert");
    assert.equal(await alert.count(), 1);
    assert.match(await alert.innerText(), /Handynummer ist ungültig/);
    assert.ok(!(await page.content()).includes("0152 12"), "the error page echoes the input");
    const back = page.getByRole("link", { name: "Zurück zum Anmeldeformular" });
    assert.equal(await back.count(), 1);
    const violations = await axeViolations(page);
    assert.deepEqual(violations, [], violations.join("\n"));
    await page.screenshot({ path: artifactPath("anmelden-fehler.png"), fullPage: true });
    assert.equal(eventFiles().length, before, "a refused sign-up stores nothing");
    // Chromium logs the 400 of the document itself as a console error; it is the intended answer.
    assert.deepEqual(
      problems.filter((p) => !p.includes("status of 400")),
      [],
    );
    await page.close();
  });

  test("by keyboard alone: every field is reachable in order with a visible focus, and the form is sent", async () => {
    const { page, problems } = await openPage(browser.context, VIEWPORTS[0]);
    await page.goto(`${server.url}/anmelden/`, { waitUntil: "load" });
    const focused = () =>
      page.evaluate(() => {
        const el = document.activeElement;
        const s = getComputedStyle(el);
        return {
          id: el.id || el.getAttribute("href") || el.textContent.trim(),
          ring: el.matches(":focus-visible") && (s.outlineStyle !== "none" || s.boxShadow !== "none"),
        };
      });
    let current;
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press("Tab");
      current = await focused();
      if (current.id === "f-nummer") break;
    }
    assert.equal(current.id, "f-nummer", "the number field is never reached by Tab");
    await page.keyboard.type(KEY_NUMBER.typed);
    const order = [current];
    const press = async (key) => {
      await page.keyboard.press(key);
      order.push(await focused());
    };
    await press("Tab"); // name
    await page.keyboard.type("Max Beispiel");
    await press("Tab"); // first topic
    await page.keyboard.press("Space");
    for (let i = 0; i < 4; i++) await press("Tab"); // the other topics
    await press("Tab"); // consent
    await page.keyboard.press("Space");
    await press("Tab"); // the Datenschutz link
    await press("Tab"); // the button
    assert.deepEqual(
      order.map((f) => f.id),
      [
        "f-nummer",
        "f-name",
        "f-thema-verkehr",
        "f-thema-abfall",
        "f-thema-rat",
        "f-thema-veranstaltungen",
        "f-thema-versorgung",
        "f-einwilligung",
        "/datenschutz/",
        "Anmelden",
      ],
    );
    assert.deepEqual(
      order.filter((f) => !f.ring).map((f) => f.id),
      [],
      "elements without a visible focus indicator",
    );
    await page.waitForTimeout(3300);
    const [response] = await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
    assert.equal(response.status(), 200);
    assert.equal(await page.locator("h1").innerText(), "Anmeldung erhalten");
    const [event] = signupsOf(KEY_NUMBER.e164);
    assert.ok(event, "the keyboard sign-up was stored");
    assert.match(JSON.stringify(event), /"verkehr"/);
    assert.doesNotMatch(JSON.stringify(event), /"abfall"/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("nothing in the inbox's data folder holds a number in plain text", () => {
    const files = allFiles(data).filter((f) => statSync(f).isFile());
    assert.ok(files.length >= 3, `expected the sign-ups' files, found ${files.length}`);
    for (const f of files) {
      const bytes = readFileSync(f, "utf8");
      for (const n of ALL_DIGITS) assert.ok(!bytes.includes(n), `${n} in plain text in ${f}`);
    }
  });
});

// With an e-mail channel the form offers WhatsApp or e-mail: a radio group with a legend, the
// chosen field shown and required (JavaScript), both shown and none required without it (the
// inbox checks the chosen one). Only the form is checked here; the e-mail sign-up itself, with
// its confirmation mail, is tested against a real SMTP server in tests/inbox/email_signup.rs.
describe("the channel choice (site with an e-mail channel)", () => {
  let emailServer;

  before(async () => {
    const yaml = readFileSync(join(site, "aushang.yaml"), "utf8");
    assert.match(yaml, /\n {2}channels:\n/, "the example has broadcast channels");
    const withEmail = yaml.replace(
      /\n {2}channels:\n/,
      '\n  channels:\n    email:\n      host: 127.0.0.1\n      port: 2525\n      security: none\n      from: "Stadt Musterbach <bekanntmachungen@musterbach.example>"\n',
    );
    const emailSite = join(dir, "site-email");
    cpSync(site, emailSite, { recursive: true });
    rmSync(join(emailSite, "public"), { recursive: true, force: true });
    writeFileSync(join(emailSite, "aushang.yaml"), withEmail);
    execFileSync(AUSHANG, ["--root", emailSite, "build", "--now", NOW, "--out", join(emailSite, "public")], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    emailServer = await staticServer(join(emailSite, "public"));
  });

  after(async () => {
    await emailServer?.close();
  });

  const state = (page) =>
    page.evaluate(() => {
      const f = (id) => document.getElementById(id);
      const shown = (el) => el.offsetParent !== null;
      return {
        whatsapp: f("f-kanal-whatsapp").checked,
        email: f("f-kanal-email").checked,
        numberShown: shown(f("f-nummer")),
        numberRequired: f("f-nummer").required,
        emailShown: shown(f("f-email")),
        emailRequired: f("f-email").required,
      };
    });

  test("by keyboard alone: the arrow keys switch the channel and which field is shown and required", async () => {
    const { page, problems } = await openPage(browser.context, VIEWPORTS[0]);
    await page.goto(`${emailServer.url}/anmelden/`, { waitUntil: "load" });
    const group = page.getByRole("group", { name: "Wie möchten Sie die Bekanntmachungen erhalten?" });
    assert.equal(await group.getByRole("radio").count(), 2);
    assert.deepEqual(await state(page), {
      whatsapp: true,
      email: false,
      numberShown: true,
      numberRequired: true,
      emailShown: false,
      emailRequired: false,
    });
    // Tab from the page's start reaches the radio group; the arrow key chooses e-mail.
    let reached = false;
    for (let i = 0; i < 60 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate(() => document.activeElement?.name === "kanal");
    }
    assert.ok(reached, "the radio group is a tab stop");
    await page.keyboard.press("ArrowDown");
    assert.deepEqual(await state(page), {
      whatsapp: false,
      email: true,
      numberShown: false,
      numberRequired: false,
      emailShown: true,
      emailRequired: true,
    });
    // The next tab stop is the e-mail field, with its visible label.
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "f-email");
    assert.ok(await page.getByLabel("Ihre E-Mail-Adresse").isVisible());
    // Sending empty: the browser names the e-mail field, not the hidden number.
    await page.getByRole("button", { name: "Anmelden" }).click();
    const invalid = await page.evaluate(() => [...document.querySelectorAll("form :invalid")].map((el) => el.id));
    assert.deepEqual(invalid, ["f-email", "f-einwilligung"]);
    await page.locator("#f-kanal-email").focus();
    await page.keyboard.press("ArrowUp");
    assert.equal((await state(page)).numberRequired, true);
    const violations = await axeViolations(page);
    assert.deepEqual(violations, [], violations.join("\n"));
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("without JavaScript both fields are shown and neither is required", async () => {
    const { page } = await openPage(noScript.context, VIEWPORTS[0]);
    await page.goto(`${emailServer.url}/anmelden/`, { waitUntil: "load" });
    const s = await state(page);
    assert.equal(s.numberShown && s.emailShown, true, JSON.stringify(s));
    assert.equal(s.numberRequired || s.emailRequired, false, JSON.stringify(s));
    await page.close();
  });
});
