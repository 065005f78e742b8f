// aushang's part of the web editor (served as /redaktion/aushang-editor.js, written by
// `aushang build`): the notice preview with the exact WhatsApp message, the address (slug) as
// `aushang new` forms it, the "required with" check of the image description, and CMS.init with
// the configuration generated from the content model (config.js, window.AUSHANG_EDITOR).
(function () {
  "use strict";
  var S = window.AUSHANG_EDITOR;
  var CMS = window.CMS;
  var h = window.h;
  var createClass = window.createClass;

  // German-correct slugs, as aushang's content/slug.rs: umlauts folded the German way, other
  // accents dropped, everything but a-z and 0-9 a single dash.
  function slugify(text) {
    var folded = String(text || "")
      .normalize("NFC")
      .replace(/ä/g, "ae").replace(/ö/g, "oe").replace(/ü/g, "ue")
      .replace(/Ä/g, "Ae").replace(/Ö/g, "Oe").replace(/Ü/g, "Ue")
      .replace(/ß/g, "ss").replace(/ẞ/g, "SS");
    return folded
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "");
  }

  // `2026-11-28-wasser` → `wasser` (content/notice_loader.rs strip_date_prefix).
  function stripDatePrefix(stem) {
    return /^\d{4}-\d{2}-\d{2}-./.test(stem) ? stem.slice(11) : stem;
  }

  // A WhatsApp template parameter as aushang sends it (broadcast/channels/whatsapp/params.rs
  // clean_param): whitespace runs and control characters become one space, trimmed, capped
  // with "…", "-" when empty.
  function cleanParam(text, max) {
    max = Math.max(max, 1);
    var out = "";
    var pending = false;
    Array.from(String(text || "")).forEach(function (c) {
      if (/[\p{White_Space}\p{Cc}]/u.test(c)) {
        pending = out.length > 0;
      } else {
        if (pending) {
          out += " ";
          pending = false;
        }
        out += c;
      }
    });
    if (!out) return "-";
    var chars = Array.from(out);
    if (chars.length <= max) return out;
    return chars.slice(0, max - 1).join("").replace(/\p{White_Space}+$/u, "") + "…";
  }

  var MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
    "September", "Oktober", "November", "Dezember"];

  // The local date of a form date (`2026-12-06 09:30`) → `6. Dezember 2026` (site/dates.rs).
  function dateDe(value) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(value || ""));
    if (!m) return "";
    return Number(m[3]) + ". " + MONTHS[Number(m[2]) - 1] + " " + m[1];
  }

  function text(data, name) {
    var v = data.get(name);
    return v === undefined || v === null ? "" : String(v);
  }

  // The notice's address: `slug`, else (a saved file) its file name, else (new) the title.
  function slugOf(entry) {
    var data = entry.get("data");
    if (text(data, "slug")) return text(data, "slug");
    if (!entry.get("newRecord") && entry.get("slug")) {
      var stem = String(entry.get("slug")).split("/").pop();
      return slugify(stripDatePrefix(stem));
    }
    return slugify(text(data, "title"));
  }

  // Fills a message pattern (config.js `messages`, rendered by aushang's broadcast code with a
  // marker per field) in one pass, as aushang fills a template.
  function fill(pattern, values) {
    return pattern.replace(/\u27e6([a-z_]+)\u27e7/g, function (all, name) {
      if (!(name in values)) return all;
      var v = values[name];
      if (!S.messages.whatsapp) return v;
      return cleanParam(v, name === "title" ? S.limits.title : S.limits.param);
    });
  }

  // Every message of the notice in the form, as `aushang broadcast --dry-run` shows them.
  function messagesOf(entry) {
    var data = entry.get("data");
    var year = (/^(\d{4})/.exec(text(data, "date")) || [])[1] || "";
    var path = "/bekanntmachungen/" + year + "/" + slugOf(entry) + "/";
    var common = {
      title: text(data, "title"),
      summary: text(data, "summary"),
      category: text(data, "category"),
      path: path,
      url: S.site.base_url + path.slice(1),
    };
    var out = [];
    var notice = S.messages.notice;
    out.push({
      key: "notice",
      text: notice.Ok !== undefined
        ? fill(notice.Ok, Object.assign({ date: dateDe(text(data, "publish_at") || text(data, "date")) }, common))
        : "FEHLER: " + notice.Err,
    });
    var updates = data.get("updates");
    if (updates && updates.forEach) {
      updates.forEach(function (u, i) {
        if (!u || !u.get) return;
        var update = S.messages.update;
        out.push({
          key: "update-" + i,
          text: update.Ok !== undefined
            ? fill(update.Ok, Object.assign({}, common, {
              update: text(u, "text"),
              date: dateDe(text(u, "date")),
            }))
            : "FEHLER: " + update.Err,
        });
      });
    }
    return out;
  }

  // The preview frame is a document of its own: German, titled, and the frame itself named (for
  // screen readers; Decap leaves all three empty).
  function labelPreview(props) {
    var doc = props.document;
    if (!doc || !doc.documentElement) return;
    var title = text(props.entry.get("data"), "title");
    doc.documentElement.lang = "de";
    doc.title = "Vorschau: " + (title || "ohne Titel");
    var frame = props.window && props.window.frameElement;
    if (frame) frame.title = "Vorschau";
  }

  var labelled = {
    componentDidMount: function () { labelPreview(this.props); },
    componentDidUpdate: function () { labelPreview(this.props); },
  };

  var NoticePreview = createClass(Object.assign({}, labelled, {
    render: function () {
      var entry = this.props.entry;
      var data = entry.get("data");
      var header = S.messages.header.Ok || S.messages.header.Err;
      return h("div", { className: "aushang-vorschau" },
        h("main", { className: "aushang-seite" },
          h("article", { className: "bekanntmachung" + (data.get("urgent") ? " dringend" : "") },
            h("header", {},
              data.get("urgent") ? h("p", { className: "marker" }, "Dringend") : null,
              h("h1", {}, text(data, "title"))),
            h("p", { className: "zusammenfassung" }, text(data, "summary")),
            h("div", { className: "inhalt" }, this.props.widgetFor("body")))),
        h("aside", { className: "aushang-nachricht", "aria-label": "WhatsApp-Nachricht" },
          h("h2", {}, "Die Nachricht an die Abonnenten"),
          data.get("broadcast") === false
            ? h("p", {}, "Wird nicht verschickt (nur auf der Website).")
            : h("p", { className: "versand" }, "Versand als: " + header),
          messagesOf(entry).map(function (m) {
            return h("pre", { key: m.key, className: "nachricht", "data-nachricht": m.key }, m.text);
          })));
    },
  }));

  var PagePreview = createClass(Object.assign({}, labelled, {
    render: function () {
      var data = this.props.entry.get("data");
      return h("main", { className: "aushang-seite" },
        h("article", {}, h("h1", {}, text(data, "title")),
          h("div", { className: "inhalt" }, this.props.widgetFor("body"))));
    },
  }));

  // A text field that is required while another field of the entry is set (`image_alt` with
  // `image`); Decap's own `required` cannot say "when".
  var RequiredWith = createClass({
    // Decap re-renders a control only when its own value changes; this one must see the other
    // field's current value, so it always takes the new props.
    shouldComponentUpdate: function () {
      return true;
    },
    isValid: function () {
      var other = this.props.field.get("required_with");
      // `getEntry` gives the entry as it is now (the `entry` prop is the one of the last render).
      var entry = this.props.getEntry ? this.props.getEntry() : this.props.entry;
      var otherValue = entry && entry.getIn(["data", other]);
      var value = String(this.props.value || "").trim();
      if (otherValue && !value) {
        var fields = this.props.collection && this.props.collection.get("fields");
        var otherField = fields && fields.find(function (f) { return f.get("name") === other; });
        var otherLabel = otherField ? otherField.get("label") : other;
        return {
          error: {
            message: this.props.field.get("label") + " fehlt: Pflicht, sobald „" + otherLabel + "“ gesetzt ist",
          },
        };
      }
      return true;
    },
    render: function () {
      var props = this.props;
      return h("input", {
        type: "text",
        id: props.forID,
        className: props.classNameWrapper,
        value: props.value || "",
        onChange: function (e) { props.onChange(e.target.value); },
        onFocus: props.setActiveStyle,
        onBlur: props.setInactiveStyle,
      });
    },
  });

  function isEmpty(v) {
    return v === "" || v === null || v === undefined || (v && typeof v.size === "number" && v.size === 0 && typeof v.get === "function");
  }

  // Before a save: a new notice gets its address from the title (as `aushang new`), and fields
  // left empty are left out (an empty `expires: ""` would be an error in `aushang check`).
  CMS.registerEventListener({
    name: "preSave",
    handler: function (event) {
      var entry = event.entry;
      var data = entry.get("data");
      if (entry.get("collection") === "notices" && entry.get("newRecord") && !text(data, "slug")) {
        data = data.set("slug", slugify(text(data, "title")));
      }
      return data.filter(function (v, k) { return k === "body" || !isEmpty(v); });
    },
  });

  CMS.registerWidget("aushang-pflicht-mit", RequiredWith);
  CMS.registerPreviewTemplate("notices", NoticePreview);
  CMS.registerPreviewTemplate("pages", PagePreview);
  CMS.registerPreviewStyle(new URL(S.site.style, document.baseURI).href);
  CMS.registerPreviewStyle(new URL(S.site.preview_style, document.baseURI).href);
  window.aushangEditor = { slugify: slugify, cleanParam: cleanParam, messagesOf: messagesOf };
  // Decap wants an absolute address; `editor.local_backend` may be a path of this site.
  if (S.cms.local_backend && S.cms.local_backend.url) {
    S.cms.local_backend.url = new URL(S.cms.local_backend.url, location.href).href;
  }
  // The login button says what the login popup and docs/editor-login.md tell editors to click
  // (Decap's German text is "Mit GitHub einloggen").
  var de = CMS.getLocale && CMS.getLocale("de");
  if (de && de.auth) de.auth.loginWithGitHub = "Mit GitHub anmelden";
  CMS.init({ config: S.cms });
})();
