// "Talk to it": a browser test call. The microphone goes to the server as 8 kHz 16-bit PCM over a
// WebSocket; the agent's audio comes back as Twilio-style media, mark and clear messages, and each
// mark is acknowledged once the audio before it has played (telephony/browser.py has the protocol).
(function () {
  "use strict";

  var call = null;

  function statusText(text) {
    var el = document.getElementById("test-call-status");
    if (el) el.textContent = text;
  }

  function showTranscript(callId) {
    // The call page's panel (transcript, live reply), then the live view over the console socket.
    fetch("/calls/" + callId + "/", { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var root = document.getElementById("call-watch");
        root.setAttribute("data-call-id", callId);
        root.innerHTML = html;
        window.voiceopsWatch(callId);
      });
  }

  function start(versionId) {
    var Context = window.AudioContext || window.webkitAudioContext;
    var context = new Context();
    var constraints = { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } };
    return Promise.all([navigator.mediaDevices.getUserMedia(constraints), context.audioWorklet.addModule("/static/console/pcm-worklet.js")])
      .then(function (results) {
        var stream = results[0];
        var mic = new AudioWorkletNode(context, "mic-capture");
        var player = new AudioWorkletNode(context, "pcm-player", { outputChannelCount: [2] });
        context.createMediaStreamSource(stream).connect(mic);
        mic.connect(context.destination); // keeps the capture running; it outputs silence
        player.connect(context.destination);
        var scheme = location.protocol === "https:" ? "wss://" : "ws://";
        var socket = new WebSocket(scheme + location.host + "/ws/console/test-call/" + versionId + "/");
        socket.binaryType = "arraybuffer";
        call = { context: context, stream: stream, socket: socket, frames: 0 };
        mic.port.onmessage = function (event) {
          if (socket.readyState === WebSocket.OPEN) socket.send(event.data);
        };
        player.port.onmessage = function (event) {
          if (event.data.mark && socket.readyState === WebSocket.OPEN) {
            socket.send(JSON.stringify({ event: "mark", mark: { name: event.data.mark } }));
          }
        };
        socket.onmessage = function (event) {
          var message = JSON.parse(event.data);
          if (message.event === "call") {
            statusText("Connected: talk to the agent.");
            showTranscript(message.call_id);
          } else if (message.event === "media") {
            player.port.postMessage({ samples: window.voiceopsMulaw(message.media.payload) });
            call.frames += 1;
            document.getElementById("test-call").setAttribute("data-agent-frames", String(call.frames));
          } else if (message.event === "mark") {
            player.port.postMessage({ mark: message.mark.name });
          } else if (message.event === "clear") {
            player.port.postMessage({ clear: true });
          }
        };
        socket.onclose = function (event) {
          var reasons = {
            1000: "The call has ended.",
            4401: "Your session has expired: log in again.",
            4403: "Your role may not place test calls.",
            4404: "This version no longer exists.",
            4400: "The call was closed: the browser sent something the server did not understand.",
          };
          statusText(reasons[event.code] || "The call ended (" + event.code + ").");
          stop();
        };
        document.getElementById("talk-button").hidden = true;
        document.getElementById("end-test-call").hidden = false;
        statusText("Connecting…");
      })
      .catch(function (error) {
        statusText("Could not start the test call: " + error.message);
      });
  }

  function stop() {
    if (!call) return;
    var current = call;
    call = null;
    if (current.socket.readyState === WebSocket.OPEN) {
      current.socket.send(JSON.stringify({ event: "stop" }));
      current.socket.close(1000);
    }
    current.stream.getTracks().forEach(function (track) { track.stop(); });
    current.context.close();
    document.getElementById("talk-button").hidden = false;
    document.getElementById("end-test-call").hidden = true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("test-call");
    if (!root) return;
    document.getElementById("talk-button").addEventListener("click", function () {
      start(root.getAttribute("data-version-id"));
    });
    document.getElementById("end-test-call").addEventListener("click", stop);
  });
})();
