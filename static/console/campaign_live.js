// Campaign pages: progress comes over the console socket (hx-ext="ws"), pushed when a campaign's counts change.
// Polling is only the fallback: while the socket is down (or before it opens) the [data-campaign-refresh]
// parts are fetched every POLL_MS. When it (re)opens, the server pushes the current progress itself: a fetch
// of ours could answer after a newer push and undo it, while the socket keeps its messages in order.
// A part marked data-refresh-on-push is fetched again after each push (the rest of a campaign's panel).
(function () {
  "use strict";
  var POLL_MS = 5000;
  var socketOpen = false;

  function refresh(selector) {
    if (typeof htmx === "undefined") return;
    document.querySelectorAll(selector).forEach(function (el) {
      htmx.trigger(el, "campaign-refresh");
    });
  }

  document.addEventListener("htmx:wsOpen", function () {
    socketOpen = true;
    document.body.setAttribute("data-campaign-socket", "open");
  });
  document.addEventListener("htmx:wsClose", function () {
    socketOpen = false;
    document.body.setAttribute("data-campaign-socket", "closed");
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id && target.id.indexOf("campaign-progress-") === 0) refresh("[data-refresh-on-push]");
  });
  setInterval(function () {
    if (!socketOpen) refresh("[data-campaign-refresh]");
  }, POLL_MS);
})();
