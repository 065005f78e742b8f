// aushang serve: reloads this tab when the site was rebuilt. Added only by the preview server,
// never part of the built site.
(function () {
  "use strict";
  var me = document.currentScript;
  var shown = me ? me.getAttribute("data-generation") : null;
  var events = new EventSource("/_aushang/events");
  events.addEventListener("generation", function (e) {
    if (shown !== null && e.data !== shown) {
      events.close();
      window.location.reload();
      return;
    }
    // Lets people (and the browser tests) see that the page follows changes.
    document.documentElement.setAttribute("data-aushang-live", "verbunden");
  });
})();
