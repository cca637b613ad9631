// Caseload: a few lines of progressive enhancement. Every page works without this file.
(function () {
  "use strict";

  function modal() { return document.getElementById("add-client-modal"); }

  function isVisible(el) { return el.offsetParent !== null || el.getClientRects().length > 0; }

  function firstVisible(root, selector) {
    var fields = root.querySelectorAll(selector);
    for (var i = 0; i < fields.length; i++) {
      if (isVisible(fields[i])) { return fields[i]; }
    }
    return null;
  }

  // Focus the first field with an error, else (when asked) the first text field.
  function focusField(root, firstFieldToo) {
    var field = firstVisible(root, "[aria-invalid=true]");
    if (!field && firstFieldToo) {
      field = firstVisible(root, "input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea");
    }
    if (field) { field.focus(); }
    return field !== null;
  }

  // Where an htmx swap landed: the target, or (outerHTML swaps) the element now at its id.
  var swapped = null;
  function swappedRoot() { return swapped && swapped.id ? document.getElementById(swapped.id) : null; }

  document.addEventListener("htmx:beforeSwap", function (event) {
    // A refused autosave (409: the note was signed meanwhile) still shows its message.
    if (event.detail.xhr.status === 409 && event.detail.target && event.detail.target.id === "autosave-status") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
    var config = event.detail.requestConfig;
    swapped = { id: event.detail.target ? event.detail.target.id : null, elt: config ? config.elt : null };
  });

  // After the swap: open the dialog and move focus where it helps. (Error state is read
  // from aria-invalid: htmx applies new classes only when it settles, a moment later.)
  document.addEventListener("htmx:afterSwap", function () {
    var root = swappedRoot();
    var id = swapped ? swapped.id : null;
    var elt = swapped ? swapped.elt : null;
    swapped = null;
    markCurrent();
    if (!root) { return; }
    if (id === "modal-body") {
      // "Add a New Client": the opener's request fills the dialog, then it opens. A form
      // answer arriving after the person closed the dialog (Escape) doesn't reopen it.
      var dialog = modal();
      var opener = elt && elt.hasAttribute && elt.hasAttribute("data-opens-modal");
      if (dialog && !dialog.open && opener) { dialog.showModal(); }
      syncChildToggle(root);
      // Focus once htmx has settled: only then is the new form wired to submit over
      // htmx (a quick Enter before that would post the whole page).
      focusAfterSettle = (!dialog || dialog.open) ? root : null;
    } else if (id === "client-profile") {
      var heading = document.getElementById("profile-name");
      if (heading) { heading.focus({ preventScroll: true }); }
      root.scrollIntoView({ block: "nearest" });
    } else if (root.querySelector(".section-form")) {
      // A profile section saved in place: show its first error, else keep focus on Save.
      if (!focusField(root, false)) {
        var save = root.querySelector("button[type=submit]");
        if (save) { save.focus(); }
      }
    } else if (root.classList.contains("panel")) {
      // A whole section replaced in place (Clinical Information): the button that was
      // pressed is gone; focus its field's error, else the same form's button, else the title.
      focusAfterSectionSwap(root, elt);
    }
  });

  var focusAfterSettle = null;
  document.addEventListener("htmx:afterSettle", function () {
    var root = focusAfterSettle;
    focusAfterSettle = null;
    if (root && root.isConnected) { focusField(root, true); }
  });

  function focusAfterSectionSwap(root, elt) {
    if (focusField(root, false)) { return; }
    var url = elt && elt.getAttribute ? elt.getAttribute("hx-post") : null;
    var target = null;
    if (url) {
      root.querySelectorAll("form[hx-post]").forEach(function (form) {
        if (!target && form.getAttribute("hx-post") === url) {
          target = form.querySelector("button[type=submit]");
        }
      });
    }
    if (!target) {
      target = root.querySelector("h3");
      if (target) { target.setAttribute("tabindex", "-1"); }
    }
    if (target) { target.focus({ preventScroll: true }); }
  }

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
    if (event.target.name === "is_child" && event.target.form) { syncChildToggle(event.target.form); }
  });

  // The client whose profile is open is marked in the list (also after the list is re-filtered).
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
})();

// My Clients: arrow keys move through the list (Enter opens: they are links), from the
// search box too; Home/End jump to the ends. "Show more" and a sort link keep the focus
// where it was once htmx has swapped the list. Without this file the list is plain links.
(function () {
  "use strict";

  function listLinks() {
    return Array.prototype.slice.call(
      document.querySelectorAll("#client-list [data-client-link], #client-list [data-list-more]")
    );
  }

  function moveTo(link) {
    if (!link) { return; }
    link.focus();
    link.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    var target = event.target;
    var fromSearch = target.id === "client-search-input";
    if (!fromSearch && !(target.matches && target.matches("#client-list [data-client-link], #client-list [data-list-more]"))) { return; }
    var links = listLinks();
    if (!links.length) { return; }
    var index = links.indexOf(target);
    var next = null;
    if (event.key === "ArrowDown") {
      next = fromSearch ? links[0] : links[Math.min(index + 1, links.length - 1)];
    } else if (fromSearch) {
      return; // the search box keeps its own Up, Home and End
    } else if (event.key === "ArrowUp") {
      next = index > 0 ? links[index - 1] : document.getElementById("client-search-input");
    } else if (event.key === "Home") {
      next = links[0];
    } else if (event.key === "End") {
      next = links[links.length - 1];
    } else {
      return;
    }
    event.preventDefault();
    moveTo(next);
  });

  // Before htmx replaces the list or "Show more": what had the focus, to put it back after.
  var restore = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var elt = event.detail.requestConfig ? event.detail.requestConfig.elt : null;
    restore = null;
    if (!target || document.activeElement !== elt) { return; }
    if (target.id === "client-list-more") {
      restore = { more: document.querySelectorAll("#client-list [data-client-link]").length };
    } else if (target.id === "client-list" && elt.hasAttribute("data-sort-link")) {
      restore = { sort: elt.getAttribute("data-sort-link") };
    }
  });

  // On a phone a client opened from the list replaces it (CSS): start that screen at the
  // top, where "← My Clients" is, not where the list was scrolled to.
  document.addEventListener("htmx:afterSwap", function (event) {
    var elt = event.detail.requestConfig ? event.detail.requestConfig.elt : null;
    var sidebar = document.querySelector(".client-sidebar");
    if (elt && elt.hasAttribute && elt.hasAttribute("data-client-link") && sidebar &&
        window.getComputedStyle(sidebar).display === "none") {
      window.scrollTo(0, 0);
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    var wanted = restore;
    restore = null;
    if (!wanted) { return; }
    if (wanted.sort) {
      moveTo(document.querySelector('#client-list [data-sort-link="' + wanted.sort + '"]'));
    } else {
      // The first of the rows just added, else the next "Show more".
      var rows = document.querySelectorAll("#client-list [data-client-link]");
      moveTo(rows[wanted.more] || document.querySelector("#client-list [data-list-more]"));
    }
  });
})();

// ICD-10-CM picker: choosing a suggestion fills the code field.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var option = event.target.closest("[data-icd-code]");
    if (!option) { return; }
    event.preventDefault();
    var picker = option.closest(".icd-picker");
    var input = picker && picker.querySelector("input[name=code]");
    if (!input) { return; }
    input.value = option.getAttribute("data-icd-code");
    var results = picker.querySelector("#icd-results");
    if (results) { results.innerHTML = ""; }
    input.focus();
  });
})();

// Form builder: show each question's settings only for the types that use them.
(function () {
  "use strict";
  var PARTS = {
    options: ["single_choice", "multiple_choice"],
    min: ["scale", "number"],
    max: ["scale", "number"],
    min_label: ["scale"],
    max_label: ["scale"]
  };
  function sync(fieldset) {
    var select = fieldset.querySelector("select[name$='-type']");
    if (!select) { return; }
    Object.keys(PARTS).forEach(function (name) {
      var part = fieldset.querySelector("[data-builder-part='" + name + "']");
      if (!part) { return; }
      var used = PARTS[name].indexOf(select.value) !== -1;
      var hasError = part.querySelector(".error") !== null;
      part.hidden = !used && !hasError;
    });
    var required = fieldset.querySelector("[data-builder-part='required']");
    if (required) { required.hidden = select.value === "signature"; }
  }
  document.addEventListener("change", function (event) {
    var fieldset = event.target.closest && event.target.closest(".builder-field");
    if (fieldset && event.target.name && /-type$/.test(event.target.name)) { sync(fieldset); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".builder-field").forEach(sync);
  });
})();
