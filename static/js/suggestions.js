// Suggested training data: utterances on an intent's page, values and synonyms on the entities
// page. The LLM's suggestions come from the REST API; the creator accepts or rejects each, and only
// accepted ones are saved. Text is always set as text, never as HTML.
(function () {
  "use strict";

  var csrf = window.Parley.csrf;
  var element = window.Parley.element;

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        var detail = Array.isArray(data.detail) ? data.detail.join(" ") : data.detail;
        if (!response.ok) throw new Error(detail || data.error || "HTTP " + response.status);
        return data;
      });
    });
  }

  function button(label, className, onClick) {
    var node = element("button", label, "button small " + (className || ""));
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  // --- utterances for an intent -----------------------------------------------------------
  var panel = document.querySelector("[data-suggestions]");
  if (panel) {
    var intent = panel.dataset.intent;
    var list = panel.querySelector('[data-field="list"]');
    var status = panel.querySelector('[data-field="status"]');
    var acceptAll = panel.querySelector('[data-action="accept-all"]');
    var added = 0;

    function accept(rows) {
      var texts = rows.map(function (row) { return row.dataset.text; });
      rows.forEach(function (row) { row.querySelectorAll("button").forEach(function (b) { b.disabled = true; }); });
      return api("POST", "/api/intents/" + intent + "/utterances/", { utterances: texts }).then(function () {
        added += texts.length;
        rows.forEach(function (row) { row.remove(); });
        status.textContent = added + " added; the NLU is training. Reload to see them in the list.";
      }).catch(function (error) {
        status.textContent = "Could not add: " + error.message;
        rows.forEach(function (row) { row.querySelectorAll("button").forEach(function (b) { b.disabled = false; }); });
      });
    }

    function show(result) {
      list.textContent = "";
      result.suggestions.forEach(function (suggestion) {
        var row = element("li", undefined, "suggestion");
        row.dataset.text = suggestion.text;
        row.appendChild(element("span", suggestion.text, "text"));
        if (suggestion.conflict) {
          row.classList.add("flagged");
          row.dataset.flagged = "1";
          row.appendChild(element("span", " Sounds like " + suggestion.conflict.intent + " (close to “" +
            suggestion.conflict.similar + "”)", "muted reason"));
        }
        row.appendChild(button("Accept", "", function () { accept([row]); }));
        row.appendChild(button("Reject", "secondary", function () { row.remove(); }));
        list.appendChild(row);
      });
      var dropped = result.dropped ? " (" + result.dropped + " dropped as copies of existing examples)" : "";
      status.textContent = result.suggestions.length + " suggestion(s)" + dropped + ".";
      acceptAll.hidden = !result.suggestions.some(function (s) { return !s.conflict; });
    }

    panel.querySelector('[data-action="suggest"]').addEventListener("click", function (event) {
      event.target.disabled = true;
      status.textContent = "Asking the LLM…";
      api("POST", "/api/intents/" + intent + "/suggestions/", { count: 10 })
        .then(show)
        .catch(function (error) { status.textContent = "No suggestions: " + error.message; })
        .finally(function () { event.target.disabled = false; });
    });
    acceptAll.addEventListener("click", function () {
      accept(Array.prototype.slice.call(list.querySelectorAll("li:not([data-flagged])")));
    });
  }

  // --- values and synonyms for a list entity ---------------------------------------------
  var box = document.querySelector("[data-entity-suggestions]");
  if (box) {
    var valueList = box.querySelector('[data-field="list"]');
    var valueStatus = box.querySelector('[data-field="status"]');

    function addToEntity(entity, item, row) {
      row.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      api("GET", "/api/entities/" + entity + "/").then(function (current) {
        var values = current.values.slice();
        var existing = values.filter(function (v) { return v.value.toLowerCase() === item.value.toLowerCase(); })[0];
        if (existing) existing.synonyms = existing.synonyms.concat(item.synonyms);
        else values.push({ value: item.value, synonyms: item.synonyms });
        return api("PATCH", "/api/entities/" + entity + "/", { values: values });
      }).then(function () {
        row.remove();
        valueStatus.textContent = "Added “" + item.value + "”; reload to see it in the table.";
      }).catch(function (error) {
        valueStatus.textContent = "Could not add: " + error.message;
        row.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      });
    }

    function row(entity, item, label) {
      var node = element("li", undefined, "suggestion");
      node.appendChild(element("span", label, "text"));
      node.appendChild(button("Accept", "", function () { addToEntity(entity, item, node); }));
      node.appendChild(button("Reject", "secondary", function () { node.remove(); }));
      return node;
    }

    document.querySelectorAll("[data-suggest-entity]").forEach(function (trigger) {
      trigger.addEventListener("click", function () {
        var entity = trigger.dataset.suggestEntity;
        box.hidden = false;
        box.querySelector('[data-field="entity"]').textContent = trigger.dataset.entityName;
        valueList.textContent = "";
        valueStatus.textContent = "Asking the LLM…";
        trigger.disabled = true;
        api("POST", "/api/entities/" + entity + "/suggestions/", { count: 10 }).then(function (result) {
          result.values.forEach(function (item) {
            var label = item.value + (item.synonyms.length ? " (" + item.synonyms.join(", ") + ")" : "");
            valueList.appendChild(row(entity, item, label));
          });
          result.synonyms.forEach(function (item) {
            valueList.appendChild(row(entity, item, item.value + ": also " + item.synonyms.join(", ")));
          });
          valueStatus.textContent = (result.values.length + result.synonyms.length) + " suggestion(s)." +
            (result.note ? " " + result.note : "");
        }).catch(function (error) {
          valueStatus.textContent = "No suggestions: " + error.message;
        }).finally(function () { trigger.disabled = false; });
      });
    });
  }
})();
