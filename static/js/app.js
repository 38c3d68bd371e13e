// Live updates for pages that show an assistant: a teammate's rename or delete shows at once.
// Also the helpers every page script uses (window.Parley): this file is loaded first on every page.
(function () {
  "use strict";

  window.Parley = {
    // Django's CSRF token, for requests that change something.
    csrf: function () {
      const match = document.cookie.match(/csrftoken=([^;]+)/);
      return match ? match[1] : "";
    },
    // A new element with its text set as text, never as HTML.
    element: function (tag, text, className) {
      const node = document.createElement(tag);
      if (text !== undefined) node.textContent = text;
      if (className) node.className = className;
      return node;
    },
  };

  function watchAssistant(root) {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const url = scheme + "://" + window.location.host + root.dataset.assistantEvents;
    let retryMs = 1000;

    function connect() {
      const socket = new WebSocket(url);
      socket.addEventListener("open", () => {
        retryMs = 1000;
        root.dataset.socket = "open";
      });
      socket.addEventListener("message", (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "assistant.updated") {
          for (const [key, value] of Object.entries(message.data)) {
            document.querySelectorAll('[data-live="' + key + '"]').forEach((node) => {
              node.textContent = value;
            });
          }
        } else if (message.type === "assistant.deleted") {
          root.querySelector('[data-live="deleted"]').hidden = false;
        }
      });
      socket.addEventListener("close", () => {
        root.dataset.socket = "closed";
        window.setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      });
    }
    connect();
  }

  // A button with data-confirm asks before its form is sent (e.g. merging two intents).
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-assistant-events]").forEach(watchAssistant);
  });
})();
