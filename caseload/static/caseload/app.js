// Caseload: a few lines of progressive enhancement. Every page works without this file.
(function () {
  "use strict";

  function modal() { return document.getElementById("add-client-modal"); }

  // "Add a New Client": htmx loads the form into the dialog; open it once the form arrives.
  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = modal();
    if (dialog && event.detail.target && event.detail.target.id === "modal-body") {
      if (!dialog.open) { dialog.showModal(); }
      var invalid = dialog.querySelector(".has-error input, .has-error select");
      var first = invalid || dialog.querySelector("input:not([type=hidden]), select");
      if (first) { first.focus(); }
      syncChildToggle(dialog);
    }
    if (event.detail.target && event.detail.target.id === "client-profile") {
      var heading = document.getElementById("profile-name");
      if (heading) { heading.focus(); }
      markCurrent();
    }
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-closes-modal]");
    var dialog = modal();
    if (closer && dialog && dialog.open) {
      event.preventDefault();
      dialog.close();
    }
  });

  // Child Account toggle: show the guardian fields instead of the client's email.
  function syncChildToggle(root) {
    var toggle = root.querySelector("input[name=is_child]");
    if (!toggle) { return; }
    var child = toggle.checked;
    root.querySelectorAll("[data-only-child]").forEach(function (el) { el.hidden = !child; });
    root.querySelectorAll("[data-only-adult]").forEach(function (el) { el.hidden = child; });
    var label = root.querySelector("label[for=id_full_name]");
    if (label) { label.firstChild.nodeValue = child ? "Child's full name " : "Full name "; }
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "is_child") { syncChildToggle(event.target.form); }
  });

  function markCurrent() {
    document.querySelectorAll("[data-client-link]").forEach(function (link) {
      var current = link.getAttribute("hx-get") === window.location.pathname;
      link.parentElement.classList.toggle("current", current);
      if (current) { link.setAttribute("aria-current", "page"); } else { link.removeAttribute("aria-current"); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form").forEach(syncChildToggle);
    markCurrent();
  });
  window.addEventListener("popstate", markCurrent);
})();
