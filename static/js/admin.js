// Fixes for what axe-core finds in Django's stock admin (loaded by templates/admin/base_site.html).
//
// The autocomplete boxes (Select2, as Django ships it) give screen readers no name: the search
// field of a multiple choice has no label, and a single choice is named by its selection, which
// is empty until one is made (axe-core: label, aria-input-field-name). Each takes the name of its
// field's label, also for boxes Select2 draws later.
(function () {
  "use strict";

  function labelText(select) {
    var label = select.id && document.querySelector('label[for="' + select.id + '"]');
    return label ? label.textContent.replace(/:\s*$/, "").trim() : "";
  }

  function name(select) {
    var box = select.nextElementSibling;
    var text = labelText(select);
    if (!text || !box || !box.classList.contains("select2")) return;
    box.querySelectorAll('[role="combobox"], [role="textbox"], .select2-search__field').forEach(function (el) {
      if (!el.getAttribute("aria-label")) el.setAttribute("aria-label", text);
    });
  }

  function nameAll() {
    document.querySelectorAll("select.admin-autocomplete").forEach(name);
  }

  // On a phone, an inline table wider than the screen scrolls in its own box; a box holding no
  // link or field cannot be scrolled from the keyboard unless it takes focus itself (axe-core:
  // scrollable-region-focusable).
  function focusableScrollers() {
    document.querySelectorAll(".inline-group").forEach(function (group) {
      if (group.scrollWidth > group.clientWidth && !group.hasAttribute("tabindex")) {
        var heading = group.querySelector("h2");
        group.setAttribute("tabindex", "0");
        group.setAttribute("role", "region");
        if (heading) group.setAttribute("aria-label", heading.textContent.trim());
      }
    });
  }

  window.addEventListener("load", focusableScrollers);
  window.addEventListener("resize", focusableScrollers);

  document.addEventListener("DOMContentLoaded", function () {
    nameAll();
    new MutationObserver(nameAll).observe(document.body, { childList: true, subtree: true });
  });
})();
