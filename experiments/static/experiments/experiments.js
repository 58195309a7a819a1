// The experiment pages' only script, an external file so that the pages hold
// under a Content-Security-Policy without 'unsafe-inline'.
(function () {
  "use strict";

  // htmx injects a <style> element for its request indicators when it starts,
  // which a strict style-src refuses. These pages use no indicator. Deferred
  // scripts run before DOMContentLoaded, when htmx reads its configuration.
  if (window.htmx) {
    window.htmx.config.includeIndicatorStyles = false;
  }

  // Every <time class="local-time" datetime="..."> in the operator's own
  // timezone. The server renders the console's zone, named (what shows with
  // JavaScript off); the browser knows where the operator is.
  // Fields one by one: dateStyle/timeStyle refuse to be combined with timeZoneName.
  var format = new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  });

  function localize(root) {
    root.querySelectorAll("time.local-time[datetime]").forEach(function (node) {
      var when = new Date(node.getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        node.title = node.textContent;
        node.textContent = format.format(when);
        node.classList.add("localized");
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { localize(document); });
  } else {
    localize(document);
  }
  // The results panel refreshes itself over htmx: localize what it brings.
  document.addEventListener("htmx:afterSwap", function (event) { localize(event.target); });
})();
