// The postmortem editor's "Create GitHub issue" / "Create Jira issue" buttons post a form of their
// own and come back to the editor, which would drop unsaved edits: once anything in the editor
// changes, they are disabled and say "Save your changes first".
(function () {
  "use strict";

  var editor = document.getElementById("pm-editor");
  if (!editor) {
    return;
  }

  function holdBack() {
    editor.querySelectorAll("button.tracker-create").forEach(function (button) {
      button.disabled = true;
      var hint = document.getElementById(button.getAttribute("data-hint"));
      if (hint) {
        hint.hidden = false;
      }
    });
  }

  editor.addEventListener("input", holdBack);
  editor.addEventListener("change", holdBack);
})();
