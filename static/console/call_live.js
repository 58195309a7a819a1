// A call's live view on the console socket: transcript, the reply being spoken, latency stages, listen-in.
//
// The server renders every piece of HTML (partials with ids, swapped in
// place); JSON messages carry only listen-in audio and acknowledgements.
// window.voiceopsWatch(callId) starts watching (the test call page calls it
// once its call exists); a page with #call-watch[data-call-id] starts at once.
(function () {
  "use strict";

  var MULAW = (function () {
    var table = new Float32Array(256);
    for (var i = 0; i < 256; i++) {
      var u = ~i & 0xff, sign = u & 0x80, exponent = (u >> 4) & 7, mantissa = u & 0x0f;
      var magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
      table[i] = (sign ? -magnitude : magnitude) / 32768;
    }
    return table;
  })();

  function decodeMulaw(base64) {
    var raw = atob(base64 || ""), out = new Float32Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = MULAW[raw.charCodeAt(i)];
    return out;
  }

  function mix(a, b) {
    var n = Math.max(a.length, b.length), out = new Float32Array(n);
    for (var i = 0; i < n; i++) out[i] = Math.max(-1, Math.min(1, (a[i] || 0) + (b[i] || 0)));
    return out;
  }

  var socket = null, callId = null, listening = false, audio = null, batches = 0;
  var sawLive = false, cardsRefreshed = false;

  // The call page's cards that only change once the call is over: fetched
  // again when this page saw the call end (the recording is stored and the
  // analysis queued a moment after the last status, hence a second look).
  var AFTER_CALL_CARDS = ["call-recording", "analysis-panel", "call-waterfall", "audit-log"];
  var AFTER_CALL_LOOKS_MS = [1500, 6000];

  function socketUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/console/live/";
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function connect() {
    socket = new WebSocket(socketUrl());
    socket.onopen = function () {
      send({ action: "watch", call_id: callId });
      if (listening) send({ action: "listen", call_id: callId });
    };
    socket.onmessage = function (event) {
      var data = String(event.data);
      if (data.charAt(0) === "{") onJson(JSON.parse(data));
      else swap(data);
    };
    socket.onclose = function (event) {
      if (event.code === 4401 || event.code === 4403) return; // refused: reconnecting would not help
      setTimeout(connect, 1000);
    };
  }

  function swap(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    Array.prototype.slice.call(template.content.children).forEach(function (el) {
      if (!el.id) return;
      var old = document.getElementById(el.id);
      if (!old) return;
      el.removeAttribute("hx-swap-oob");
      old.replaceWith(el);
      if (window.htmx) window.htmx.process(el);
    });
    var panel = document.getElementById("call-panel-" + callId);
    if (panel && panel.getAttribute("data-final") === "1") callOver();
  }

  function refreshCards() {
    fetch(location.href, { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : "";
      })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        AFTER_CALL_CARDS.forEach(function (id) {
          var old = document.getElementById(id), el = fresh.getElementById(id);
          if (!old || !el) return;
          var adopted = document.importNode(el, true);
          old.replaceWith(adopted);
          if (window.htmx) window.htmx.process(adopted);
        });
      });
  }

  function callOver() {
    if (sawLive && !cardsRefreshed) {
      cardsRefreshed = true;
      AFTER_CALL_LOOKS_MS.forEach(function (delay) {
        setTimeout(refreshCards, delay);
      });
    }
    stopListening();
    var controls = document.getElementById("call-controls");
    if (controls) controls.hidden = true;
    var live = document.getElementById("live-" + callId);
    if (live) live.textContent = "";
  }

  function status(text) {
    var el = document.getElementById("listen-status");
    if (el) {
      el.textContent = text;
      el.setAttribute("data-batches", String(batches));
    }
  }

  function onJson(message) {
    if (message.listen && audio) {
      var samples = mix(decodeMulaw(message.listen.caller), decodeMulaw(message.listen.agent));
      audio.node.port.postMessage({ samples: samples });
      batches += 1;
      var delay = message.listen.t0 ? Math.round(Date.now() - message.listen.t0 * 1000) : null;
      status("Listening · " + batches + " batches" + (delay !== null ? " · " + delay + " ms behind" : ""));
    } else if (message.error === "forbidden") {
      status("Your role may not listen in.");
      stopListening();
    } else if (message.error === "no live session") {
      stopListening();
      status(message.message); // after stopListening, which would say "Not listening"
    }
  }

  function startListening() {
    var Context = window.AudioContext || window.webkitAudioContext;
    var context = new Context();
    return context.audioWorklet.addModule("/static/console/pcm-worklet.js").then(function () {
      var node = new AudioWorkletNode(context, "pcm-player", { outputChannelCount: [2] });
      node.connect(context.destination);
      audio = { context: context, node: node };
      listening = true;
      batches = 0;
      send({ action: "listen", call_id: callId });
      status("Listening…");
      var button = document.getElementById("listen-button");
      if (button) button.textContent = "Stop listening";
    });
  }

  function stopListening() {
    if (!listening) return;
    listening = false;
    send({ action: "unlisten" });
    if (audio) audio.context.close();
    audio = null;
    status("Not listening");
    var button = document.getElementById("listen-button");
    if (button) button.textContent = "Listen";
  }

  function watch(id) {
    callId = id;
    var panel = document.getElementById("call-panel-" + id);
    sawLive = !!panel && panel.getAttribute("data-final") !== "1";
    if (socket) {
      send({ action: "watch", call_id: callId });
    } else {
      connect();
    }
    var button = document.getElementById("listen-button");
    if (button) {
      button.addEventListener("click", function () {
        if (listening) stopListening();
        else startListening();
      });
    }
  }

  // A command the server could not carry out answers 4xx/5xx with a sentence
  // for the operator (a bad number, a call with no live session): htmx drops
  // error responses by default, so the command's result box takes them.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "command-result" && event.detail.xhr.status >= 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  window.voiceopsWatch = watch;
  window.voiceopsMulaw = decodeMulaw;

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("call-watch");
    var id = root && root.getAttribute("data-call-id");
    if (id) watch(id);
  });
})();
