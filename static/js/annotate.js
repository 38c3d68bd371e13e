// "Tag selection": wrap the words selected in the utterances box as [words](entity), the inline
// annotation the server reads (the same syntax as Rasa's training data).
(function () {
  "use strict";
  document.querySelectorAll("[data-annotator]").forEach(function (annotator) {
    var form = annotator.closest("form");
    var box = form && form.querySelector("textarea[name=utterances]");
    var entity = annotator.querySelector("[data-annotator-entity]");
    var button = annotator.querySelector("[data-annotator-tag]");
    if (!box || !entity || !button) return;
    button.addEventListener("click", function () {
      var start = box.selectionStart;
      var end = box.selectionEnd;
      var words = box.value.slice(start, end);
      if (!words.trim() || /[\[\]\n]/.test(words)) {
        box.focus();
        return;
      }
      var tagged = "[" + words + "](" + entity.value + ")";
      box.value = box.value.slice(0, start) + tagged + box.value.slice(end);
      box.focus();
      box.setSelectionRange(start + tagged.length, start + tagged.length);
    });
  });
})();
