// Progressive enhancement for the postmortem editor; the form works without it
// (the "Preview" button and the always-present empty action-item row).
(function () {
  "use strict";

  var form = document.getElementById("pm-editor");
  if (!form) {
    return;
  }
  var previewUrl = form.getAttribute("data-preview-url");

  // Live preview: send the section being typed in (and the rest of the form, so the
  // server recomputes the hints) and show the sanitised HTML it returns.
  function preview(textarea) {
    var data = new FormData(form);
    data.append("text", textarea.value);
    fetch(previewUrl, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : Promise.reject(response.status);
      })
      .then(function (html) {
        var fragment = document.createElement("template");
        fragment.innerHTML = html; // server-rendered and sanitised (nh3)
        var target = document.getElementById("preview-" + textarea.name);
        var rendered = fragment.content.querySelector("[data-preview]");
        if (target && rendered) {
          target.replaceChildren(rendered);
          target.hidden = textarea.value.trim() === "";
        }
        var hints = fragment.content.querySelector("[data-hints]");
        var box = document.getElementById("hints-box");
        if (hints && box) {
          box.replaceChildren.apply(box, Array.prototype.slice.call(hints.childNodes));
        }
      })
      .catch(function () {
        /* the preview is a convenience; saving still works */
      });
  }

  var timers = {};
  form.querySelectorAll(".section-editor textarea").forEach(function (textarea) {
    textarea.addEventListener("input", function () {
      clearTimeout(timers[textarea.name]);
      timers[textarea.name] = setTimeout(function () {
        preview(textarea);
      }, 400);
    });
  });

  // The reason box under a saved item's due date shows once the date moves (it is always
  // there without the script, and whenever the server asked for a reason).
  function toggleReason(row) {
    var box = row.querySelector(".due-date-reason[data-initial-due]");
    var due = row.querySelector('input[name$="-due_date"]');
    if (box && due) {
      box.hidden = due.value === box.getAttribute("data-initial-due");
    }
  }
  form.querySelectorAll(".action-item-row").forEach(toggleReason);
  form.addEventListener("input", function (event) {
    if (event.target.name && /-due_date$/.test(event.target.name)) {
      toggleReason(event.target.closest(".action-item-row"));
    }
  });

  // Add action-item rows from the formset's empty form.
  var addButton = document.getElementById("add-action-item");
  var template = document.getElementById("action-item-template");
  var total = form.querySelector('input[name="actions-TOTAL_FORMS"]');
  var rows = document.getElementById("action-item-rows");
  if (addButton && template && total && rows) {
    addButton.hidden = false;
    addButton.addEventListener("click", function () {
      var index = parseInt(total.value, 10) || 0;
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var title = rows.lastElementChild && rows.lastElementChild.querySelector('input[name$="-title"]');
      if (title) {
        title.focus();
      }
    });
  }
})();
