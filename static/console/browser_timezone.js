// The browser's timezone as the console's default, for an operator who has not picked one (Settings).
// base.html loads this only then: <body data-browser-timezone-url="..." data-browser-timezone="zone reported so far"
// data-rendered-timezone="zone this page's times are in">.
// The zone is posted once; the server checks it against zoneinfo and the page is fetched again to render in it.
(function () {
  "use strict";
  var TRIED = "voiceops.browserTimezoneTried";

  function report() {
    var body = document.body;
    var url = body.getAttribute("data-browser-timezone-url");
    if (!url) return;
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (e) {
      return;
    }
    if (!zone || zone === body.getAttribute("data-browser-timezone")) return;
    // One try per zone and tab session: a zone the server refuses is not posted on every page.
    try {
      if (sessionStorage.getItem(TRIED) === zone) return;
      sessionStorage.setItem(TRIED, zone);
    } catch (e) {
      // Storage may be off; the session's reported zone still stops repeats once it is kept.
    }
    var headers = {};
    try {
      headers = JSON.parse(body.getAttribute("hx-headers") || "{}");
    } catch (e) {
      headers = {};
    }
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    fetch(url, {
      method: "POST",
      headers: headers,
      credentials: "same-origin",
      body: "timezone=" + encodeURIComponent(zone),
    }).then(function (response) {
      // Fetched again only when the page was rendered in another zone (a UTC browser sees no reload);
      // replace(), not reload(): a page that answered a form must not post it again.
      if (response.status === 204 && zone !== body.getAttribute("data-rendered-timezone")) {
        window.location.replace(window.location.href);
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", report);
  else report();
})();
