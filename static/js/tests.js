// The conversation test editor: add and remove turns and expectations. Field names carry the
// turn's and the expectation's numbers; the server reads them in order and skips the gaps.
(function () {
  var form = document.querySelector("[data-test-editor]");
  if (!form) return;
  var turns = form.querySelector("[data-turns]");
  var turnTemplate = form.querySelector("[data-turn-template]");
  var expectationTemplate = form.querySelector("[data-expectation-template]");
  var counter = 1000; // fresh numbers, above any the page was rendered with

  function fromTemplate(template, turn, expectation) {
    var html = template.innerHTML.split("__turn__").join(turn).split("__expect__").join(expectation);
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    return holder.firstChild;
  }

  form.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches("[data-add-turn]")) {
      var turn = fromTemplate(turnTemplate, counter++, 0);
      turns.appendChild(turn);
      turn.querySelector("input").focus();
    } else if (target.matches("[data-add-expectation]")) {
      var fieldset = target.closest("[data-turn]");
      var row = fromTemplate(expectationTemplate, fieldset.dataset.turn, counter++);
      fieldset.querySelector("[data-expectations]").appendChild(row);
      row.querySelector("select").focus();
    } else if (target.matches("[data-remove-expectation]")) {
      target.closest("[data-expectation]").remove();
    } else if (target.matches("[data-remove-turn]")) {
      target.closest("[data-turn]").remove();
    }
  });
})();
