/*
 * Parley web chat widget. Paste into any page:
 *
 *   <script src="https://YOUR-PARLEY/static/js/widget.js" data-assistant="ID" defer></script>
 *
 * Optional: data-title="Pizza Palace", data-color="#c2410c", data-open="true".
 * The page's site must be one the assistant allows (its edit page, "Sites that may embed").
 * It opens a chat bubble talking to the assistant's published version over a websocket, renders
 * text, buttons and streamed answers, reconnects by itself and, after a reload, redraws the
 * conversation and carries on (the conversation id lives in localStorage).
 *
 * The frames are drawn by chat.js, the renderer the builder's test chat uses too: this script
 * loads it from the same place it was itself loaded from, then shows the bubble.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) return;
  var assistant = script.dataset.assistant;
  var origin = new URL(script.src, window.location.href).origin;
  var title = script.dataset.title || "Chat with us";
  var color = script.dataset.color || "#2563eb";
  var storeKey = "parley:" + origin + ":" + assistant + ":";

  function stored(name, make) {
    var value = null;
    try { value = window.localStorage.getItem(storeKey + name); } catch (e) { /* private mode */ }
    if (!value && make) {
      value = make();
      remember(name, value);
    }
    return value;
  }
  function remember(name, value) {
    try { window.localStorage.setItem(storeKey + name, value); } catch (e) { /* private mode */ }
  }
  function randomId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return "u-" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  var user = stored("user", randomId);
  var host = document.createElement("div");
  host.setAttribute("data-parley-widget", assistant);
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    ".bubble{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;" +
    "background:" + color + ";color:#fff;font:600 24px system-ui,sans-serif;cursor:pointer;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000}" +
    ".panel{position:fixed;right:20px;bottom:88px;width:min(360px,calc(100vw - 40px));height:min(520px,calc(100vh - 120px));" +
    "display:none;flex-direction:column;background:#fff;border-radius:14px;overflow:hidden;" +
    "box-shadow:0 10px 30px rgba(0,0,0,.25);font:14px/1.4 system-ui,sans-serif;color:#111;z-index:2147483000}" +
    ".panel.open{display:flex}" +
    "header{background:" + color + ";color:#fff;padding:12px 14px;font-weight:600;display:flex;justify-content:space-between;align-items:center}" +
    "header button{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f7f9}" +
    ".msg{max-width:82%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}" +
    ".bot{align-self:flex-start;background:#fff;border:1px solid #e3e5e8}" +
    ".user{align-self:flex-end;background:" + color + ";color:#fff}" +
    ".note{align-self:center;color:#666;font-size:12px}" +
    ".sources{align-self:flex-start;color:#666;font-size:12px;margin:-4px 0 0 4px}" +
    ".sources a{color:inherit}" +
    ".buttons{display:flex;flex-wrap:wrap;gap:6px;align-self:flex-start}" +
    ".buttons button{border:1px solid " + color + ";color:" + color + ";background:#fff;border-radius:999px;padding:5px 11px;cursor:pointer;font:inherit}" +
    ".buttons button:disabled{opacity:.45;cursor:default}" +
    ".typing{align-self:flex-start;color:#888;font-size:12px;display:none}" +
    ".typing.on{display:block}" +
    "form{display:flex;border-top:1px solid #e3e5e8}" +
    "input{flex:1;border:0;padding:12px;font:inherit;outline:none}" +
    "form button{border:0;background:none;color:" + color + ";font-weight:600;padding:0 14px;cursor:pointer}" +
    ".status{font-size:11px;font-weight:400;opacity:.85}" +
    ".rate{align-self:flex-start;display:flex;gap:4px;margin:-4px 0 0 4px}" +
    ".rate button{border:0;background:none;cursor:pointer;font-size:14px;opacity:.5;padding:2px}" +
    ".rate button[aria-pressed=true]{opacity:1}" +
    "</style>" +
    '<button class="bubble" type="button" aria-label="Open the chat" data-testid="chat-bubble">&#128172;</button>' +
    '<section class="panel" role="dialog" aria-label="' + title.replace(/"/g, "&quot;") + '">' +
    '<header><span><span class="title"></span><br><span class="status" data-testid="chat-status">connecting…</span></span>' +
    '<button type="button" class="close" aria-label="Close the chat">&times;</button></header>' +
    '<div class="log" role="log" aria-live="polite" data-testid="chat-log"></div>' +
    '<div class="typing" data-testid="chat-typing">…</div>' +
    '<form><input name="text" autocomplete="off" maxlength="2000" placeholder="Type a message" aria-label="Your message" data-testid="chat-input">' +
    '<button type="submit">Send</button></form></section>';
  root.querySelector(".title").textContent = title;

  var panel = root.querySelector(".panel");
  var input = root.querySelector("input");
  var status = root.querySelector(".status");
  var socket = null;
  var retry = 0;
  var started = false;
  var chat = null; // the renderer, once chat.js is loaded

  function startChat() {
    chat = window.ParleyChat.renderer(root.querySelector(".log"), {
      send: send,
      typing: root.querySelector(".typing"),
      on: { welcome: welcome, answered: addRating },
    });
  }

  function welcome(frame) {
    remember("conversation", frame.conversation);
    status.textContent = "online";
  }

  // Thumbs up or down under a generated answer; the assistant's creators see the thumbs-down.
  function addRating(seq) {
    var row = document.createElement("div");
    row.className = "rate";
    [["up", "\uD83D\uDC4D", "Helpful"], ["down", "\uD83D\uDC4E", "Not helpful"]].forEach(function (choice) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = choice[1];
      button.setAttribute("aria-label", choice[2]);
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", function () {
        if (send({ type: "feedback", seq: seq, rating: choice[0] })) {
          row.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
        }
      });
      row.appendChild(button);
    });
    chat.append(row);
  }

  function connect() {
    var url = origin.replace(/^http/, "ws") + "/ws/chat/" + assistant + "/";
    socket = new WebSocket(url);
    status.textContent = "connecting…";
    socket.addEventListener("open", function () {
      retry = 0;
      var conversation = stored("conversation");
      socket.send(JSON.stringify({ type: "hello", user: user, conversation: conversation, last_seq: chat.lastSeq() }));
    });
    socket.addEventListener("message", function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; } // a frame we cannot read
      chat.receive(frame);
    });
    socket.addEventListener("close", function () {
      status.textContent = "reconnecting…";
      var delay = Math.min(10000, 500 * Math.pow(2, retry++));
      window.setTimeout(connect, delay);
    });
  }

  function send(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      chat.line("note", "Not connected yet — try again in a moment.");
      return false;
    }
    socket.send(JSON.stringify(frame));
    return true;
  }

  function open() {
    panel.classList.add("open");
    if (!started) {
      started = true;
      connect();
    }
    input.focus();
  }

  root.querySelector(".bubble").addEventListener("click", function () {
    if (panel.classList.contains("open")) panel.classList.remove("open");
    else open();
  });
  root.querySelector(".close").addEventListener("click", function () { panel.classList.remove("open"); });
  root.querySelector("form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    if (send({ type: "text", text: text })) {
      input.value = "";
      chat.said(text);
    }
  });

  // chat.js from beside this script, once: several widgets on one page share it.
  function withRenderer(ready) {
    if (window.ParleyChat) return ready();
    var tag = document.querySelector("script[data-parley-chat]");
    if (!tag) {
      tag = document.createElement("script");
      tag.src = new URL("chat.js", script.src).href;
      tag.async = true;
      tag.setAttribute("data-parley-chat", "");
      (document.head || document.documentElement).appendChild(tag);
    }
    tag.addEventListener("load", function () { ready(); });
  }

  withRenderer(function () {
    startChat();
    document.body.appendChild(host);
    if (script.dataset.open === "true" || stored("conversation")) open();
  });
})();
