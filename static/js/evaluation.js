// Reload once the evaluation finishes (the events socket says when).
(function () {
  var root = document.querySelector("[data-evaluation]");
  if (!root || root.dataset.status === "done" || root.dataset.status === "failed") return;
  var socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.events);
  socket.onmessage = function (event) {
    var message = JSON.parse(event.data);
    if (message.type !== "nlu.evaluation" || String(message.data.run) !== root.dataset.evaluation) return;
    if (message.data.status === "done" || message.data.status === "failed") location.reload();
    else root.querySelector("[data-progress]").textContent = Math.round(message.data.progress * 100);
  };
})();
// The run may have finished before the socket opened: look again now and then.
(function () {
  var root = document.querySelector("[data-evaluation]");
  if (!root || root.dataset.status === "done" || root.dataset.status === "failed") return;
  window.setInterval(function () { location.reload(); }, 15000);
})();
