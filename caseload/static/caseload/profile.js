// Leaving a profile tab with unsaved changes asks first (issue 10: "read first, edit on demand").
// A form counts as changed once a field in it is edited; saving it (submit) clears that.
(function () {
  "use strict";
  var MESSAGE = "You have unsaved changes on this tab. Leave without saving?";

  function changedForms() {
    return Array.prototype.filter.call(
      document.querySelectorAll("#client-profile form[data-changed]"),
      function (form) { return document.body.contains(form); }
    );
  }

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("#client-profile form");
    if (form && !form.hasAttribute("data-no-guard")) form.setAttribute("data-changed", "");
  });
  document.addEventListener("submit", function (event) {
    if (event.target.removeAttribute) event.target.removeAttribute("data-changed");
  }, true);

  // Links that leave the tab (the tab bar, the client list, any other link on the page).
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href]");
    if (!link || link.target === "_blank" || link.getAttribute("href").charAt(0) === "#") return;
    if (link.hasAttribute("data-in-tab")) return; // e.g. "Show earlier": htmx stays on the tab
    if (!changedForms().length) return;
    if (!window.confirm(MESSAGE)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    changedForms().forEach(function (form) { form.removeAttribute("data-changed"); });
  }, true);

  // On a narrow screen the tab bar scrolls sideways: keep the open tab in view.
  function showCurrentTab() {
    var current = document.querySelector(".profile-tabs [aria-current=page]");
    if (current && current.scrollIntoView) current.scrollIntoView({ inline: "nearest", block: "nearest" });
  }
  document.addEventListener("DOMContentLoaded", showCurrentTab);
  document.addEventListener("htmx:afterSettle", showCurrentTab);

  window.addEventListener("beforeunload", function (event) {
    if (changedForms().length) {
      event.preventDefault();
      event.returnValue = MESSAGE;
    }
  });
})();
