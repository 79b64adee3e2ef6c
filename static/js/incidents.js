// Progressive enhancement for the incident pages; every form works without it.
(function () {
  "use strict";

  // Ask before removing a timeline event.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // On the edit form, show "why did the severity change?" only once the severity changes
  // (or when the server already flagged it).
  var reason = document.getElementById("severity-reason");
  var severity = document.getElementById("id_severity");
  if (reason && severity) {
    var initial = reason.getAttribute("data-initial-severity");
    var flagged = reason.querySelector(".errorlist") !== null;
    var toggle = function () {
      reason.hidden = !flagged && severity.value === initial;
    };
    severity.addEventListener("change", toggle);
    toggle();
  }

  // The services checkbox list: typing in the filter box hides the services that do not
  // match (the ticked ones stay in view). Without this script the whole list shows.
  var filterBox = document.querySelector("[data-services-filter]");
  if (filterBox) {
    var input = filterBox.querySelector("input");
    var options = document.querySelectorAll("[data-service-option]");
    var none = document.querySelector("[data-services-none]");
    var status = document.getElementById("services-filter-status");
    var filter = function () {
      var words = input.value.toLowerCase().trim().split(/\s+/).filter(Boolean);
      var shown = 0;
      options.forEach(function (option) {
        var text = option.textContent.toLowerCase();
        var ticked = option.querySelector("input").checked;
        var match = ticked || words.every(function (word) { return text.indexOf(word) !== -1; });
        option.hidden = !match;
        if (match) { shown += 1; }
      });
      none.hidden = shown > 0;
      status.textContent = words.length ? shown + " of " + options.length + " services shown" : "";
    };
    filterBox.hidden = false;
    input.addEventListener("input", filter);
    // Enter in the filter box must not submit the whole form.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
  }

  // "Also set the incident's mitigated time" applies to Mitigation events only: show it for them.
  document.querySelectorAll("[data-show-for-kind]").forEach(function (block) {
    var form = block.closest("form");
    var kind = form && form.querySelector("select[name=kind]");
    if (!kind) { return; }
    var toggleKind = function () {
      block.hidden = kind.value !== block.getAttribute("data-show-for-kind");
    };
    kind.addEventListener("change", toggleKind);
    toggleKind();
  });
})();
