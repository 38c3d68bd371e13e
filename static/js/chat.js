/*
 * The chat protocol's frames drawn into a log element: one renderer for the web chat widget
 * (widget.js, which loads this file from its own origin) and the builder's test chat (flow.js).
 * Text is always set as text, never as HTML.
 *
 *   var chat = ParleyChat.renderer(log, {
 *     send: function (frame) { ...; return true; },  // a clicked button goes out through it
 *     classes: { note: "turn", ... },   // the host's CSS classes (defaults: the widget's)
 *     text: { end: "…", ... },          // the host's words (defaults: the widget's)
 *     typing: element,                  // optional: gets class "on" while the assistant types
 *     on: { welcome: fn(frame), turn: fn(frame), answered: fn(seq) },  // what differs
 *   });
 *   chat.receive(frame); chat.said(text); chat.line("note", text); chat.reset();
 */
(function () {
  "use strict";
  if (window.ParleyChat) return;

  var CLASSES = {
    bot: "msg bot", user: "msg user", note: "msg note",
    choices: "buttons", choice: "", sources: "sources",
  };

  // Where a knowledge-base answer comes from: "Warranty › Claims".
  function sourceWhere(source) {
    var title = source.title || source.document;
    var heading = source.heading || "";
    return heading.indexOf(title) === 0 ? heading : [title, heading].filter(Boolean).join(" › ");
  }

  var TEXT = {
    handoff: "A person will take over.",
    end: "Conversation ended — write again to start over.",
    cutOff: "(the answer was cut off)",
    sources: "Sources: ",
    source: sourceWhere,
    error: function (message) { return message; },
  };

  function merged(defaults, given) {
    var out = {};
    Object.keys(defaults).forEach(function (key) { out[key] = defaults[key]; });
    Object.keys(given || {}).forEach(function (key) { out[key] = given[key]; });
    return out;
  }

  function renderer(log, options) {
    var classes = merged(CLASSES, options.classes);
    var text = merged(TEXT, options.text);
    var on = options.on || {};
    var lastSeq = 0;
    var streaming = null;
    var streamSeq = null; // the streamed answer's first frame: what a rating names
    var shownLocally = []; // what the user sent from this page, drawn before the server numbers it
    var choices = [];

    function append(node) {
      log.appendChild(node);
      log.scrollTop = log.scrollHeight;
      return node;
    }

    function line(kind, words) {
      var item = document.createElement("div");
      item.className = classes[kind];
      item.textContent = words;
      return append(item);
    }

    function disableChoices() {
      choices.forEach(function (button) { button.disabled = true; });
    }

    // The user's own words (typed, or a button's label), drawn at once.
    function said(words) {
      disableChoices();
      shownLocally.push(words);
      return line("user", words);
    }

    function addChoices(buttons) {
      var row = document.createElement("div");
      row.className = classes.choices;
      buttons.forEach(function (button) {
        var element = document.createElement("button");
        element.type = "button";
        if (classes.choice) element.className = classes.choice;
        element.textContent = button.label;
        element.addEventListener("click", function () {
          if (options.send({ type: "button", index: button.index })) said(button.label);
        });
        choices.push(element);
        row.appendChild(element);
      });
      append(row);
    }

    // "[1] Warranty › Claims; [2] …", each linked when it is a web page.
    function addSources(sources) {
      var box = document.createElement("div");
      box.className = classes.sources;
      box.appendChild(document.createTextNode(text.sources));
      sources.forEach(function (source, i) {
        var item = document.createElement(/^https?:\/\//.test(source.url || "") ? "a" : "span");
        item.textContent = "[" + source.n + "] " + text.source(source);
        if (item.tagName === "A") { item.href = source.url; item.target = "_blank"; item.rel = "noopener noreferrer"; }
        if (i) box.appendChild(document.createTextNode("; "));
        box.appendChild(item);
      });
      append(box);
    }

    // The user's words as the server numbered them: drawn unless this page drew them already
    // (a reloaded page gets the whole conversation again).
    function echo(frame) {
      disableChoices();
      var words = frame.type === "user" ? frame.text : frame.label || "";
      if (shownLocally.length && shownLocally[0] === words) shownLocally.shift();
      else line("user", words);
    }

    function hook(name, value) {
      if (on[name]) on[name](value);
    }

    var draw = {
      welcome: function (frame) { hook("welcome", frame); },
      typing: function () { if (options.typing) options.typing.classList.add("on"); },
      user: echo,
      button: echo,
      text: function (frame) {
        if (frame.text) line("bot", frame.text);
        if (frame.buttons && frame.buttons.length) addChoices(frame.buttons);
      },
      "stream.start": function (frame) {
        streaming = line("bot", "");
        streamSeq = frame.seq;
      },
      "stream.chunk": function (frame) {
        if (!streaming) streaming = line("bot", "");
        streaming.textContent += frame.text;
        log.scrollTop = log.scrollHeight;
      },
      "stream.end": function (frame) {
        if (streaming && !frame.complete) line("note", text.cutOff);
        if (frame.sources && frame.sources.length) addSources(frame.sources);
        if (frame.complete && streamSeq) hook("answered", streamSeq);
        streaming = null;
        streamSeq = null;
      },
      turn: function (frame) { hook("turn", frame); },
      handoff: function () { line("note", text.handoff); },
      end: function () { line("note", text.end); },
      error: function (frame) { line("note", text.error(frame.message)); },
    };

    function receive(frame) {
      if (frame.seq !== undefined) {
        if (frame.seq <= lastSeq) return; // already shown
        lastSeq = frame.seq;
      }
      if (options.typing) options.typing.classList.remove("on");
      if (Object.prototype.hasOwnProperty.call(draw, frame.type)) draw[frame.type](frame);
    }

    // An empty log, for a new conversation.
    function reset() {
      log.replaceChildren();
      lastSeq = 0;
      streaming = null;
      streamSeq = null;
      shownLocally = [];
      choices = [];
    }

    return {
      receive: receive,
      said: said,
      line: line,
      append: append,
      reset: reset,
      lastSeq: function () { return lastSeq; },
    };
  }

  window.ParleyChat = { renderer: renderer, sourceWhere: sourceWhere };
})();
