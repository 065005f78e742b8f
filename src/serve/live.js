// aushang serve: reloads this tab when a rebuild changed its page. Added only by the preview
// server, never part of the built site.
(function () {
  "use strict";
  var me = document.currentScript;
  var shown = me ? Number(me.getAttribute("data-generation")) : NaN;
  var path = window.location.pathname.replace(/index\.html$/, "");
  // Below a sub-path base_url the page's site path is its path without the base path.
  var base = me ? me.getAttribute("data-base") : null;
  if (base && path.indexOf(base) === 0) {
    path = "/" + path.slice(base.length);
  }
  var preview = "/_vorschau";
  // A broadcast preview changes with its notice; the list of previews with any change.
  var watched = path.indexOf(preview + "/") === 0 ? path.slice(preview.length) : path;
  var always = path === preview + "/";
  var events = new EventSource("/_aushang/events");
  events.addEventListener("generation", function (e) {
    var news = JSON.parse(e.data);
    if (news.generation === shown) {
      // Lets people (and the browser tests) see that the page follows changes.
      document.documentElement.setAttribute("data-aushang-live", "verbunden");
      return;
    }
    var mine = always || !news.paths || news.paths.indexOf(watched) >= 0;
    if (news.generation === shown + 1 && !mine) {
      shown = news.generation;
      return;
    }
    events.close();
    window.location.reload();
  });
})();
