// The flow canvas and the test chat of the builder.
//
// Steps are buttons on a canvas: drag them with the mouse, or select one and move it with the
// arrow keys. The inspector edits the selected step, connections included (each "next" is a
// list of the flow's steps), so the whole canvas works from the keyboard. "Save flow" sends the
// graph to the API, which checks it and names the step of each problem.
(function () {
  "use strict";
  var root = document.querySelector("[data-flow-editor]");
  if (!root) return;
  var design = JSON.parse(document.getElementById("flow-design").textContent);
  var canEdit = design.canEdit;
  var graph = design.flow ? design.flow.graph : { start: null, steps: [], triggers: [], variables: [] };
  graph.steps = graph.steps || [];
  graph.triggers = graph.triggers || [];
  var flowId = design.flow ? design.flow.id : null;
  var selected = null;
  var canvas = root.querySelector("[data-canvas]");
  var wires = root.querySelector("[data-wires]");
  var inspector = root.querySelector("[data-inspector]");
  var problemsList = root.querySelector("[data-problems]");
  var saveStatus = root.querySelector("[data-save-status]");
  var problemSteps = {};

  var LABELS = {
    message: "Message", capture: "Capture", condition: "Condition", set: "Set variable",
    generate: "Generate", kb_answer: "KB answer", api_call: "API call", end: "End",
  };
  var OPS = ["eq", "ne", "gt", "lt", "contains", "is_set", "not_set"];

  var csrf = window.Parley.csrf;

  function step(id) {
    return graph.steps.find(function (s) { return s.id === id; });
  }

  function newId(kind) {
    var n = 1;
    while (step(kind + "_" + n)) n += 1;
    return kind + "_" + n;
  }

  function summary(s) {
    return s.text || s.prompt && String(s.prompt) || s.variable || s.url || s.id;
  }

  // --- links ---------------------------------------------------------------------------------
  function links(s) {
    var out = [];
    ["next", "no_match", "on_fail", "on_error", "no_answer", "else"].forEach(function (field) {
      if (s[field]) out.push({ target: s[field], label: field === "next" ? "" : field });
    });
    ["buttons", "intents", "branches"].forEach(function (list) {
      (s[list] || []).forEach(function (item) {
        if (item.next) out.push({ target: item.next, label: item.label || item.intent || item.value || "" });
      });
    });
    return out;
  }

  // --- drawing -------------------------------------------------------------------------------
  function draw() {
    canvas.querySelectorAll(".node").forEach(function (n) { n.remove(); });
    graph.steps.forEach(function (s, index) {
      if (s.x === undefined) { s.x = 30 + (index % 4) * 200; s.y = 30 + Math.floor(index / 4) * 110; }
      var node = document.createElement("button");
      node.type = "button";
      node.className = "node" + (s.id === selected ? " selected" : "") + (s.id === graph.start ? " start" : "") +
        (problemSteps[s.id] ? " problem" : "");
      node.style.left = s.x + "px";
      node.style.top = s.y + "px";
      node.dataset.step = s.id;
      node.setAttribute("aria-label", LABELS[s.type] + " step " + s.id + (s.id === graph.start ? ", start" : ""));
      node.innerHTML = "<strong></strong><span></span>";
      node.querySelector("strong").textContent = LABELS[s.type] + " · " + s.id;
      node.querySelector("span").textContent = summary(s);
      node.addEventListener("click", function () { select(s.id); });
      node.addEventListener("keydown", function (event) { nudge(event, s); });
      if (canEdit) node.addEventListener("pointerdown", function (event) { drag(event, s, node); });
      canvas.appendChild(node);
    });
    drawWires();
    drawStart();
    drawTriggers();
  }

  function drawWires() {
    var width = Math.max(canvas.scrollWidth, 900);
    var height = Math.max(canvas.scrollHeight, 560);
    wires.setAttribute("width", width);
    wires.setAttribute("height", height);
    wires.innerHTML = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#7b8aa8"/></marker></defs>';
    graph.steps.forEach(function (s) {
      links(s).forEach(function (link) {
        var target = step(link.target);
        if (!target) return;
        var x1 = s.x + 170, y1 = s.y + 24, x2 = target.x, y2 = target.y + 24;
        var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
        var bend = Math.max(40, Math.abs(x2 - x1) / 2);
        path.setAttribute("d", "M" + x1 + "," + y1 + " C" + (x1 + bend) + "," + y1 + " " + (x2 - bend) + "," + y2 + " " + x2 + "," + y2);
        path.setAttribute("fill", "none");
        path.setAttribute("stroke", "#7b8aa8");
        path.setAttribute("stroke-width", "1.5");
        path.setAttribute("marker-end", "url(#arrow)");
        wires.appendChild(path);
        if (link.label) {
          var text = document.createElementNS("http://www.w3.org/2000/svg", "text");
          text.setAttribute("x", (x1 + x2) / 2);
          text.setAttribute("y", (y1 + y2) / 2 - 4);
          text.setAttribute("font-size", "11");
          text.setAttribute("fill", "#5b6781");
          text.textContent = link.label;
          wires.appendChild(text);
        }
      });
    });
  }

  function drag(event, s, node) {
    var startX = event.clientX, startY = event.clientY, originX = s.x, originY = s.y, moved = false;
    node.setPointerCapture(event.pointerId);
    function move(e) {
      var dx = e.clientX - startX, dy = e.clientY - startY;
      if (Math.abs(dx) + Math.abs(dy) > 3) moved = true;
      s.x = Math.max(0, Math.round((originX + dx) / 10) * 10);
      s.y = Math.max(0, Math.round((originY + dy) / 10) * 10);
      node.style.left = s.x + "px";
      node.style.top = s.y + "px";
      drawWires();
    }
    function up() {
      node.removeEventListener("pointermove", move);
      node.removeEventListener("pointerup", up);
      if (moved) dirty();
    }
    node.addEventListener("pointermove", move);
    node.addEventListener("pointerup", up);
  }

  function nudge(event, s) {
    var moves = { ArrowLeft: [-20, 0], ArrowRight: [20, 0], ArrowUp: [0, -20], ArrowDown: [0, 20] };
    if (!canEdit || !moves[event.key]) return;
    event.preventDefault();
    s.x = Math.max(0, s.x + moves[event.key][0]);
    s.y = Math.max(0, s.y + moves[event.key][1]);
    dirty();
    draw();
    canvas.querySelector('[data-step="' + s.id + '"]').focus();
  }

  function dirty() {
    saveStatus.textContent = "Unsaved changes";
  }

  // --- the inspector ---------------------------------------------------------------------------
  function field(labelText, control) {
    var wrap = document.createElement("div");
    wrap.className = "field";
    var label = document.createElement("label");
    var id = "f-" + Math.random().toString(36).slice(2);
    label.htmlFor = id;
    label.textContent = labelText;
    control.id = id;
    control.disabled = !canEdit;
    wrap.appendChild(label);
    wrap.appendChild(control);
    return wrap;
  }

  function textInput(value, onChange, multiline) {
    var input = document.createElement(multiline ? "textarea" : "input");
    if (multiline) input.rows = 3;
    input.value = value === undefined || value === null ? "" : value;
    input.addEventListener("input", function () { onChange(input.value); dirty(); redrawSoon(); });
    return input;
  }

  function choice(options, value, onChange, blank) {
    var select = document.createElement("select");
    if (blank !== undefined) options = [["", blank]].concat(options);
    options.forEach(function (option) {
      var element = document.createElement("option");
      element.value = option[0];
      element.textContent = option[1];
      if (String(option[0]) === String(value === undefined || value === null ? "" : value)) element.selected = true;
      select.appendChild(element);
    });
    select.addEventListener("change", function () { onChange(select.value); dirty(); draw(); });
    return select;
  }

  function stepOptions(except) {
    return graph.steps.filter(function (s) { return s.id !== except; })
      .map(function (s) { return [s.id, s.id + " (" + LABELS[s.type] + ")"]; });
  }

  function link(s, name, label, blank) {
    return field(label, choice(stepOptions(null), s[name], function (v) { s[name] = v || null; if (!v) delete s[name]; }, blank || "—"));
  }

  var redrawTimer = null;
  function redrawSoon() {
    window.clearTimeout(redrawTimer);
    redrawTimer = window.setTimeout(function () {
      graph.steps.forEach(function (s) {
        var node = canvas.querySelector('[data-step="' + s.id + '"] span');
        if (node) node.textContent = summary(s);
      });
      drawWires();
    }, 150);
  }

  function listEditor(s, name, title, make, render) {
    var box = document.createElement("fieldset");
    var legend = document.createElement("legend");
    legend.textContent = title;
    box.appendChild(legend);
    (s[name] || []).forEach(function (item, index) {
      var row = document.createElement("div");
      row.className = "toolbar";
      render(item).forEach(function (control) { row.appendChild(control); });
      if (canEdit) {
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "button small secondary";
        remove.textContent = "Remove";
        remove.addEventListener("click", function () { s[name].splice(index, 1); dirty(); inspect(); draw(); });
        row.appendChild(remove);
      }
      box.appendChild(row);
    });
    if (canEdit) {
      var add = document.createElement("button");
      add.type = "button";
      add.className = "button small secondary";
      add.textContent = "Add " + title.toLowerCase().replace(/s$/, "");
      add.addEventListener("click", function () { s[name] = (s[name] || []).concat([make()]); dirty(); inspect(); });
      box.appendChild(add);
    }
    return box;
  }

  function labelled(labelText, control) {
    control.setAttribute("aria-label", labelText);
    control.disabled = !canEdit;
    return control;
  }

  function inspect() {
    inspector.innerHTML = "";
    var s = step(selected);
    if (!s) {
      inspector.innerHTML = '<p class="muted">Select a step to edit it.</p>';
      return;
    }
    var heading = document.createElement("h2");
    heading.textContent = LABELS[s.type] + " · " + s.id;
    inspector.appendChild(heading);
    var intents = design.intents.map(function (i) { return [i, i]; });
    var set = function (name) { return function (v) { s[name] = v; }; };
    if (s.type === "message") {
      inspector.appendChild(field("Text", textInput(s.text, set("text"), true)));
      inspector.appendChild(listEditor(s, "buttons", "Buttons", function () { return { label: "Button" }; }, function (b) {
        return [labelled("Button label", textInput(b.label, function (v) { b.label = v; })),
          labelled("Button goes to", choice(stepOptions(null), b.next, function (v) { b.next = v || undefined; }, "(say its label)"))];
      }));
      inspector.appendChild(link(s, "next", "Then go to", "(wait for the user)"));
      inspector.appendChild(listEditor(s, "intents", "Intents here", function () { return { intent: design.intents[0] || "" }; }, function (item) {
        return [labelled("Intent", choice(intents, item.intent, function (v) { item.intent = v; })),
          labelled("Intent goes to", choice(stepOptions(null), item.next, function (v) { item.next = v; }, "—"))];
      }));
      inspector.appendChild(link(s, "no_match", "When nothing matches"));
    } else if (s.type === "capture") {
      inspector.appendChild(field("Entity", choice(design.entities.map(function (e) { return [e, e]; }), s.entity, function (v) { s.entity = v || null; }, "(free text)")));
      inspector.appendChild(field("Into variable", textInput(s.variable, set("variable"))));
      inspector.appendChild(field("Question", textInput(s.prompt, set("prompt"), true)));
      inspector.appendChild(field("Re-prompt", textInput(s.reprompt, set("reprompt"), true)));
      inspector.appendChild(link(s, "next", "Then go to"));
      inspector.appendChild(link(s, "on_fail", "After two failed attempts"));
    } else if (s.type === "condition") {
      inspector.appendChild(listEditor(s, "branches", "Branches", function () { return { variable: "", op: "eq", value: "" }; }, function (b) {
        return [labelled("Variable", textInput(b.variable, function (v) { b.variable = v; })),
          labelled("Comparison", choice(OPS.map(function (o) { return [o, o]; }), b.op, function (v) { b.op = v; })),
          labelled("Value", textInput(b.value, function (v) { b.value = v; })),
          labelled("Branch goes to", choice(stepOptions(null), b.next, function (v) { b.next = v; }, "—"))];
      }));
      inspector.appendChild(link(s, "else", "Else go to"));
    } else if (s.type === "set") {
      inspector.appendChild(field("Variable", textInput(s.variable, set("variable"))));
      inspector.appendChild(field("Value", textInput(s.value, set("value"))));
      inspector.appendChild(link(s, "next", "Then go to"));
    } else if (s.type === "generate") {
      inspector.appendChild(field("Prompt", choice(design.prompts.map(function (p) { return [p.id, p.name]; }), s.prompt, function (v) { s.prompt = v ? Number(v) : null; }, "—")));
      inspector.appendChild(field("Keep the text in variable", textInput(s.variable, set("variable"))));
      inspector.appendChild(link(s, "next", "Then go to"));
    } else if (s.type === "kb_answer") {
      inspector.appendChild(link(s, "next", "After answering"));
      inspector.appendChild(link(s, "no_answer", "When the knowledge base has no answer"));
    } else if (s.type === "api_call") {
      inspector.appendChild(field("Method", choice(["GET", "POST", "PUT", "PATCH", "DELETE"].map(function (m) { return [m, m]; }), s.method || "GET", set("method"))));
      inspector.appendChild(field("URL", textInput(s.url, set("url"))));
      inspector.appendChild(field("Body", textInput(s.body, set("body"), true)));
      inspector.appendChild(field("Timeout (s)", textInput(s.timeout_s || 5, function (v) { s.timeout_s = Number(v); })));
      var mapping = Object.keys(s.response_map || {}).map(function (k) { return k + "=" + s.response_map[k]; }).join("\n");
      inspector.appendChild(field("Answer into variables (variable=json.path)", textInput(mapping, function (v) {
        s.response_map = {};
        v.split("\n").forEach(function (line) {
          var parts = line.split("=");
          if (parts.length === 2 && parts[0].trim()) s.response_map[parts[0].trim()] = parts[1].trim();
        });
      }, true)));
      inspector.appendChild(link(s, "next", "Then go to"));
      inspector.appendChild(link(s, "on_error", "When the call fails"));
    } else if (s.type === "end") {
      inspector.appendChild(field("Goodbye text", textInput(s.text, set("text"), true)));
      var box = document.createElement("input");
      box.type = "checkbox";
      box.checked = !!s.handoff;
      box.addEventListener("change", function () { s.handoff = box.checked; dirty(); });
      inspector.appendChild(field("Hand over to a person", box));
    }
    if (canEdit) {
      var actions = document.createElement("div");
      actions.className = "toolbar";
      var start = document.createElement("button");
      start.type = "button";
      start.className = "button small secondary";
      start.textContent = "Start here";
      start.addEventListener("click", function () { graph.start = s.id; dirty(); draw(); });
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button small danger";
      remove.textContent = "Delete step";
      remove.addEventListener("click", function () {
        graph.steps = graph.steps.filter(function (x) { return x !== s; });
        if (graph.start === s.id) graph.start = graph.steps.length ? graph.steps[0].id : null;
        selected = null;
        dirty();
        inspect();
        draw();
      });
      actions.appendChild(start);
      actions.appendChild(remove);
      inspector.appendChild(actions);
    }
  }

  function select(id) {
    selected = id;
    canvas.querySelectorAll(".node").forEach(function (n) { n.classList.toggle("selected", n.dataset.step === id); });
    inspect();
  }

  function drawStart() {
    var select = root.querySelector("[data-start]");
    select.innerHTML = "";
    graph.steps.forEach(function (s) {
      var option = document.createElement("option");
      option.value = s.id;
      option.textContent = s.id;
      option.selected = s.id === graph.start;
      select.appendChild(option);
    });
    select.disabled = !canEdit;
    select.onchange = function () { graph.start = select.value; dirty(); draw(); };
  }

  function drawTriggers() {
    var box = root.querySelector("[data-triggers]");
    box.innerHTML = "";
    graph.triggers.forEach(function (trigger, index) {
      var row = document.createElement("div");
      row.className = "toolbar";
      row.appendChild(labelled("Trigger intent", choice(design.intents.map(function (i) { return [i, i]; }), trigger.intent, function (v) { trigger.intent = v; })));
      row.appendChild(labelled("Trigger goes to", choice(stepOptions(null), trigger.next, function (v) { trigger.next = v; }, "—")));
      if (canEdit) {
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "button small secondary";
        remove.textContent = "Remove";
        remove.addEventListener("click", function () { graph.triggers.splice(index, 1); dirty(); draw(); });
        row.appendChild(remove);
      }
      box.appendChild(row);
    });
  }

  root.querySelectorAll("[data-add]").forEach(function (button) {
    button.addEventListener("click", function () {
      var kind = button.dataset.add;
      var s = { id: newId(kind), type: kind, x: 30 + canvas.scrollLeft + (graph.steps.length % 4) * 200, y: 30 + canvas.scrollTop + Math.floor(graph.steps.length / 4) * 110 };
      if (kind === "message") s.text = "";
      if (kind === "capture") { s.variable = ""; s.prompt = ""; }
      if (kind === "condition") s.branches = [{ variable: "", op: "eq", value: "" }];
      graph.steps.push(s);
      if (!graph.start) graph.start = s.id;
      dirty();
      draw();
      select(s.id);
      canvas.querySelector('[data-step="' + s.id + '"]').focus();
    });
  });
  var addTrigger = root.querySelector("[data-add-trigger]");
  if (addTrigger) addTrigger.addEventListener("click", function () {
    graph.triggers.push({ intent: design.intents[0] || "", next: graph.start });
    dirty();
    draw();
  });

  // --- saving --------------------------------------------------------------------------------
  function clean() {
    var copy = JSON.parse(JSON.stringify(graph));
    copy.steps.forEach(function (s) {
      Object.keys(s).forEach(function (key) { if (s[key] === "" || s[key] === null) delete s[key]; });
      if (s.type === "capture" && !s.entity) delete s.entity;
    });
    return copy;
  }

  function showProblems(messages) {
    problemsList.innerHTML = "";
    problemSteps = {};
    messages.forEach(function (message) {
      var item = document.createElement("li");
      item.textContent = message;
      problemsList.appendChild(item);
      var match = /^step '([^']+)'/.exec(message);
      if (match) problemSteps[match[1]] = true;
    });
    draw();
  }

  var save = root.querySelector("[data-save]");
  if (save) save.addEventListener("click", function () {
    saveStatus.textContent = "Saving…";
    var body = flowId ? { graph: clean() } : { assistant: design.assistant, name: "Main", graph: clean() };
    fetch(flowId ? "/api/flows/" + flowId + "/" : "/api/flows/", {
      method: flowId ? "PATCH" : "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      credentials: "same-origin",
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (result.ok) {
        flowId = result.data.id;
        showProblems([]);
        saveStatus.textContent = "Saved";
        chat.restart();
      } else {
        var messages = [];
        Object.keys(result.data).forEach(function (key) {
          [].concat(result.data[key]).forEach(function (m) { messages.push(key === "graph" ? m : key + ": " + m); });
        });
        showProblems(messages);
        saveStatus.textContent = "Not saved: " + messages.length + " problem(s)";
      }
    }).catch(function () { saveStatus.textContent = "Not saved: the server could not be reached"; });
  });

  // --- the test chat -----------------------------------------------------------------------------
  // Frames are drawn by chat.js; here, the builder's words, the per-turn detail and "Save as a test".
  var chat = (function () {
    var form = root.querySelector("[data-test-form]");
    var input = root.querySelector("[data-test-input]");
    var saveTest = root.querySelector("[data-save-test]");
    var socket = null;
    var view = window.ParleyChat.renderer(root.querySelector("[data-test-log]"), {
      send: send,
      classes: { bot: "bot", user: "user", note: "turn", choices: "choices", choice: "button small secondary", sources: "turn" },
      text: {
        handoff: "handed over to a person",
        end: "the conversation ended",
        sources: "sources: ",
        source: function (s) { return s.document + (s.heading ? " › " + s.heading : ""); },
        error: function (message) { return "error: " + message; },
      },
      on: {
        welcome: function (frame) { saveable(frame.conversation, false); },
        turn: function (frame) { detail(frame); saveable(undefined, true); },
      },
    });

    function saveable(conversation, said) {
      if (!saveTest) return;
      if (conversation !== undefined) saveTest.querySelector("[data-conversation-id]").value = conversation;
      saveTest.querySelector("button").disabled = !said;
    }

    function detail(turn) {
      var parts = [];
      parts.push(turn.intent ? turn.intent + " " + (turn.confidence * 100).toFixed(0) + "%" : "no match");
      var others = (turn.ranking || []).filter(function (r) { return r.intent !== turn.intent; }).slice(0, 2);
      if (others.length) parts.push("then " + others.map(function (r) { return r.intent + " " + (r.confidence * 100).toFixed(0) + "%"; }).join(", "));
      if (turn.entities && turn.entities.length) parts.push("entities: " + turn.entities.map(function (e) { return e.entity + "=" + e.value; }).join(", "));
      parts.push("path: " + turn.path);
      if (turn.decided_by && turn.decided_by !== "nlu") parts.push("decided by " + turn.decided_by);
      if (turn.steps && turn.steps.length) parts.push("steps: " + turn.steps.join(" → "));
      if (turn.knowledge && !turn.knowledge.found) parts.push("knowledge base: not found (" + turn.knowledge.reason + ")");
      view.line("note", parts.join(" · ")).dataset.testid = "turn-detail";
    }

    function send(frame) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(frame));
      return true;
    }

    function connect() {
      view.reset();
      if (socket) { socket.onclose = null; socket.close(); }
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + window.location.host + root.dataset.testChat);
      socket.onopen = function () {
        socket.send(JSON.stringify({ type: "hello", user: "builder-" + Math.random().toString(36).slice(2) }));
      };
      socket.onmessage = function (event) { view.receive(JSON.parse(event.data)); };
      socket.onclose = function () { view.line("note", "disconnected — press Restart"); };
      root.dataset.chat = "open";
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text || !send({ type: "text", text: text })) return;
      view.said(text);
      input.value = "";
    });
    root.querySelector("[data-restart]").addEventListener("click", connect);
    return { restart: connect, start: connect };
  })();

  // --- training progress ----------------------------------------------------------------------
  var training = root.querySelector("[data-training]");
  window.Parley.events(root.dataset.events, function (message) {
    if (message.type !== "nlu.training") return;
    var data = message.data;
    if (data.status === "running") training.textContent = "NLU: training… " + Math.round(data.progress * 100) + "%";
    else if (data.status === "queued") training.textContent = "NLU: training queued";
    else if (data.status === "done") training.textContent = "NLU: trained — the test chat uses the new model";
    else if (data.status === "failed") training.textContent = "NLU: training failed — " + data.error;
  }, root);

  draw();
  if (graph.steps.length) chat.start();
})();
