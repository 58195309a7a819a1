// Every <time class="local-time" datetime="..."> in the operator's own timezone.
// The server renders UTC (what shows with JavaScript off); the browser knows
// where the operator is. An external file, so the page needs no inline script.
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
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
