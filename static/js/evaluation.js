// Reload once the evaluation finishes or stops (the events socket says when).
(function () {
  var FINAL = ["done", "failed", "stopped"];
  var root = document.querySelector("[data-evaluation]");
  if (!root || FINAL.indexOf(root.dataset.status) !== -1) return;
  window.Parley.events(root.dataset.events, function (message) {
    if (message.type !== "nlu.evaluation" || String(message.data.run) !== root.dataset.evaluation) return;
    var progress = root.querySelector("[data-progress]");
    if (FINAL.indexOf(message.data.status) !== -1) location.reload();
    else if (progress) progress.textContent = Math.round(message.data.progress * 100);
  }, root);
  // The run may have finished before the socket opened: look again now and then.
  window.setInterval(function () { location.reload(); }, 15000);
})();
