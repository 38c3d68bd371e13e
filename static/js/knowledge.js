// The knowledge-base page: documents' status updates live; "Try a question" shows the passages
// with their scores, or the answer with its sources. Text is always set as text, never as HTML.
(function () {
  "use strict";
  var root = document.querySelector("[data-knowledge-base]");
  if (!root) return;
  var STATUS = { queued: "Queued", processing: "Processing", ready: "Ready", failed: "Failed" };

  var csrf = window.Parley.csrf;
  var element = window.Parley.element;

  // --- live document status ---------------------------------------------------------------
  function showDocument(message) {
    if (message.type !== "kb.document") return;
    var data = message.data;
    var row = data.id && root.querySelector('[data-document="' + data.id + '"]');
    if (!row) return;
    var status = row.querySelector('[data-field="status"]');
    var label = STATUS[data.status] || data.status;
    if (data.status === "processing" && data.stage) label += " (" + data.stage + ", " + Math.round(data.progress * 100) + "%)";
    status.textContent = label;
    status.className = "status-" + data.status;
    row.querySelector('[data-field="error"]').textContent = data.error || "";
    row.querySelector('[data-field="chunks"]').textContent = data.chunks;
  }
  window.Parley.events(root.dataset.events, showDocument, root);

  // --- try a question ---------------------------------------------------------------------
  var form = root.querySelector("[data-try]");
  var answerBox = root.querySelector("[data-answer]");
  var list = root.querySelector("[data-passages]");

  function showPassages(passages, minScore) {
    list.replaceChildren();
    passages.forEach(function (p) {
      var item = element("li", undefined, "passage" + (p.passes_threshold === false ? " below" : ""));
      var where = [p.document_name, p.heading].filter(Boolean).join(" › ");
      item.appendChild(element("div", where, "muted"));
      item.appendChild(element("p", p.text));
      var figures = "relevance " + p.relevance.toFixed(3) + " · BM25 " + p.bm25.toFixed(2) + " · fused " + p.score.toFixed(4);
      if (p.passes_threshold === false) figures += " · below the minimum score " + minScore;
      item.appendChild(element("div", figures, "muted scores"));
      list.appendChild(item);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var mode = event.submitter && event.submitter.value === "answer" ? "answer" : "retrieve";
    var question = form.elements.question.value;
    answerBox.replaceChildren(element("p", mode === "answer" ? "Answering …" : "Searching …", "muted"));
    list.replaceChildren();
    fetch(root.dataset.query, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ question: question, mode: mode }),
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        answerBox.replaceChildren();
        var body = result.body;
        if (!result.ok) {
          answerBox.appendChild(element("p", body.detail || JSON.stringify(body), "error"));
          return;
        }
        if (mode === "retrieve") {
          if (!body.passages.length) answerBox.appendChild(element("p", "No passages found.", "muted"));
          answerBox.appendChild(element("p", "Search took " + body.latency_ms + " ms.", "muted"));
          showPassages(body.passages, body.min_score);
          return;
        }
        if (body.found) {
          answerBox.appendChild(element("p", body.answer, "answer"));
          var sources = element("ul", undefined, "sources");
          body.sources.forEach(function (s) {
            sources.appendChild(element("li", "[" + s.n + "] " + [s.document, s.heading].filter(Boolean).join(" › ")));
          });
          answerBox.appendChild(sources);
        } else {
          answerBox.appendChild(element("p", "Not found: the assistant would say it does not know (" + body.reason + ").", "not-found"));
        }
        showPassages(body.passages, null);
      })
      .catch(function (error) {
        answerBox.replaceChildren(element("p", "The request failed: " + error, "error"));
      });
  });
})();
