// Live updates for pages that show an assistant: a teammate's rename or delete shows at once.
// Also the helpers every page script uses (window.Parley): this file is loaded first on every page.
(function () {
  "use strict";

  // One socket per events path, shared by every script of the page that watches it.
  var channels = {};
  var FIRST_RETRY_MS = 1000;
  var LAST_RETRY_MS = 30000;

  function eventsUrl(path) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + path;
  }

  function mark(channel, state) {
    channel.state = state;
    channel.roots.forEach(function (root) { root.dataset.socket = state; });
  }

  function deliver(channel, event) {
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; } // not a message we can read
    channel.listeners.slice().forEach(function (listener) { listener(message); });
  }

  // Connects, and after every close connects again: 1 s, doubling to 30 s, reset once open.
  function connect(channel) {
    var socket = new WebSocket(eventsUrl(channel.path));
    socket.addEventListener("open", function () {
      channel.retryMs = FIRST_RETRY_MS;
      mark(channel, "open");
    });
    socket.addEventListener("message", function (event) { deliver(channel, event); });
    socket.addEventListener("close", function () {
      mark(channel, "closed");
      window.setTimeout(function () { connect(channel); }, channel.retryMs);
      channel.retryMs = Math.min(channel.retryMs * 2, LAST_RETRY_MS);
    });
  }

  function channelFor(path) {
    if (!channels[path]) {
      channels[path] = { path: path, listeners: [], roots: [], state: null, retryMs: FIRST_RETRY_MS };
      connect(channels[path]);
    }
    return channels[path];
  }

  window.Parley = {
    // Django's CSRF token, for requests that change something.
    csrf: function () {
      var match = document.cookie.match(/csrftoken=([^;]+)/);
      return match ? match[1] : "";
    },
    // A new element with its text set as text, never as HTML.
    element: function (tag, text, className) {
      var node = document.createElement(tag);
      if (text !== undefined) node.textContent = text;
      if (className) node.className = className;
      return node;
    },
    // Calls onMessage(message) with every message of the assistant-events socket at ``path``,
    // reconnecting by itself; root (optional) gets data-socket="open" or "closed".
    events: function (path, onMessage, root) {
      var channel = channelFor(path);
      channel.listeners.push(onMessage);
      if (root) {
        channel.roots.push(root);
        if (channel.state) root.dataset.socket = channel.state;
      }
    },
  };

  function watchAssistant(root) {
    window.Parley.events(root.dataset.assistantEvents, function (message) {
      if (message.type === "assistant.updated") {
        Object.keys(message.data).forEach(function (key) {
          document.querySelectorAll('[data-live="' + key + '"]').forEach(function (node) {
            node.textContent = message.data[key];
          });
        });
      } else if (message.type === "assistant.deleted") {
        root.querySelector('[data-live="deleted"]').hidden = false;
      }
    }, root);
  }

  // A button with data-confirm asks before its form is sent (e.g. merging two intents).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-assistant-events]").forEach(watchAssistant);
  });
})();
