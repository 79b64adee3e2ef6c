// Site-wide behaviour, loaded in <head> by base.html. No inline scripts or on*= handlers:
// the Content-Security-Policy allows scripts from our own static files only.
(function () {
  "use strict";

  // Tell the server the browser's time zone (incidents.middleware reads the "tz" cookie).
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && !document.cookie.split("; ").includes("tz=" + tz)) {
      document.cookie = "tz=" + tz + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) {}

  // <input data-select-on-click>: a click selects the whole value, ready to copy (e.g. a new API token).
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.hasAttribute("data-select-on-click")) {
      target.select();
    }
  });
})();
