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
})();
