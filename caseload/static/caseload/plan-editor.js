// Treatment plan editor (pell 1.0.6, vendored): edits the HTML kept in the plain textarea,
// which is what the form posts. Without JavaScript the textarea itself is the editor.
//
// HTML only ever enters the live page through clean(): it is parsed in an inert document
// (no scripts run, no images load there) and rebuilt from an allow-list that mirrors the
// server's (plans/sanitize.py), which remains the real defence: it cleans every save.
(function () {
  "use strict";

  var KEEP = { H2: 1, H3: 1, H4: 1, P: 1, BR: 1, STRONG: 1, B: 1, EM: 1, I: 1, U: 1, UL: 1, OL: 1, LI: 1, A: 1, BLOCKQUOTE: 1 };
  var RENAME = { H1: "h2", H5: "h4", H6: "h4", DIV: "p" };
  var DROP = { SCRIPT: 1, STYLE: 1, TEMPLATE: 1, NOSCRIPT: 1, IFRAME: 1, OBJECT: 1, EMBED: 1, SVG: 1, MATH: 1, HEAD: 1, TITLE: 1, META: 1, LINK: 1 };
  var SAFE_URL = /^(https?:|mailto:)/i;

  function copyChildren(from, to, doc) {
    for (var node = from.firstChild; node; node = node.nextSibling) {
      var copy = cleanNode(node, doc);
      if (copy) { to.appendChild(copy); }
    }
  }

  function cleanNode(node, doc) {
    if (node.nodeType === 3) { return doc.createTextNode(node.nodeValue); }
    if (node.nodeType !== 1) { return null; }
    var name = node.nodeName.toUpperCase();
    if (DROP[name]) { return null; }
    var tag = KEEP[name] ? name.toLowerCase() : RENAME[name];
    var out;
    if (tag) {
      out = doc.createElement(tag);
      var href = tag === "a" ? (node.getAttribute("href") || "").trim() : "";
      if (href && SAFE_URL.test(href)) { out.setAttribute("href", href); }
    } else {
      out = doc.createDocumentFragment(); // unknown wrapper (span, font, table…): keep its text
    }
    copyChildren(node, out, doc);
    return out;
  }

  // Before parsing, drop comments and every attribute but a link's href. Safety doesn't rest
  // on this (the rebuild below does): Chrome reports each style and on* attribute it parses
  // to the page's Content Security Policy, even in an inert document, and pastes from word
  // processors carry hundreds of them.
  var TAG = /<([a-zA-Z][^\s\/>]*)((?:\s+[^\s\/>"'=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g;
  var HREF = /\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/i;
  function bareTags(html) {
    return html.replace(/<!--[\s\S]*?(?:-->|$)/g, "").replace(TAG, function (whole, name, attributes) {
      if (name.toLowerCase() !== "a") { return "<" + name + ">"; }
      var href = HREF.exec(attributes);
      var url = href ? (href[1] || href[2] || href[3] || "") : "";
      return url ? "<a href=\"" + url.replace(/"/g, "&quot;") + "\">" : "<a>";
    });
  }

  // Clean HTML as a fragment of the live document, built node by node (never via innerHTML).
  function clean(html) {
    var inert = new DOMParser().parseFromString("<!doctype html><body>" + bareTags(html), "text/html");
    var fragment = document.createDocumentFragment();
    copyChildren(inert.body, fragment, document);
    return fragment;
  }

  function serialise(fragment) {
    var box = document.createElement("div");
    box.appendChild(fragment);
    return box.innerHTML; // a detached element: serialising runs nothing
  }

  var BUTTONS = [
    { name: "heading2", icon: "H2", title: "Heading", block: "h2" },
    { name: "heading3", icon: "H3", title: "Subheading", block: "h3" },
    { name: "paragraph", icon: "¶", title: "Paragraph", block: "p" },
    { name: "bold", icon: "<b>B</b>", title: "Bold (Ctrl+B)", state: "bold" },
    { name: "italic", icon: "<i>I</i>", title: "Italic (Ctrl+I)", state: "italic" },
    { name: "ulist", icon: "• List", title: "Bulleted list", state: "insertUnorderedList" },
    { name: "olist", icon: "1. List", title: "Numbered list", state: "insertOrderedList" },
    { name: "link", icon: "Link", title: "Link" }
  ];

  function setUp(holder) {
    var source = document.getElementById(holder.getAttribute("data-rich-editor"));
    if (!source || !window.pell || holder.dataset.ready) { return; }
    holder.dataset.ready = "1";
    var exec = window.pell.exec;
    var editor = window.pell.init({
      element: holder,
      defaultParagraphSeparator: "p",
      styleWithCSS: false,
      onChange: function (html) { source.value = html; },
      actions: BUTTONS.map(function (button) {
        var action = { name: button.name, icon: button.icon, title: button.title };
        // pell returns focus to the text only when the action returns true.
        if (button.block) { action.result = function () { return exec("formatBlock", "<" + button.block + ">"); }; }
        if (button.name === "link") {
          action.result = function () {
            var url = (window.prompt("Link address (https://…)") || "").trim();
            if (url && !/^[a-z][a-z0-9+.-]*:/i.test(url)) { url = "https://" + url; }
            if (url && SAFE_URL.test(url)) { return exec("createLink", url); }
            editor.content.focus();
          };
        }
        return action;
      })
    });
    var content = editor.content;
    var toolbar = holder.querySelector(".pell-actionbar");
    var buttons = Array.prototype.slice.call(toolbar.querySelectorAll("button"));
    var labelId = holder.getAttribute("aria-labelledby");
    var label = labelId ? document.getElementById(labelId) : null;

    content.id = source.id + "_editor";
    content.appendChild(clean(source.value));
    source.value = content.innerHTML;
    content.setAttribute("role", "textbox");
    content.setAttribute("aria-multiline", "true");
    if (labelId) { content.setAttribute("aria-labelledby", labelId); }
    ["aria-describedby", "aria-invalid"].forEach(function (name) {
      if (source.hasAttribute(name)) { content.setAttribute(name, source.getAttribute(name)); }
    });
    content.setAttribute("spellcheck", "true");

    // One tab stop for the toolbar; arrow keys move along it (WAI-ARIA toolbar pattern).
    toolbar.setAttribute("role", "toolbar");
    toolbar.setAttribute("aria-label", "Formatting");
    toolbar.setAttribute("aria-controls", content.id);
    buttons.forEach(function (button, index) {
      var spec = BUTTONS[index];
      button.setAttribute("aria-label", spec.title.replace(/ \(.*\)$/, ""));
      button.setAttribute("tabindex", index === 0 ? "0" : "-1");
      if (spec.state) { button.setAttribute("aria-pressed", "false"); }
      button.addEventListener("focus", function () {
        buttons.forEach(function (other) { other.setAttribute("tabindex", other === button ? "0" : "-1"); });
      });
    });
    toolbar.addEventListener("keydown", function (event) {
      var index = buttons.indexOf(document.activeElement);
      if (index < 0) { return; }
      var next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: buttons.length - 1 }[event.key];
      if (event.key === "Escape") { event.preventDefault(); content.focus(); return; }
      if (next === undefined) { return; }
      event.preventDefault();
      buttons[(next + buttons.length) % buttons.length].focus();
    });
    // Alt+F10 (as in other editors) jumps from the text to the toolbar.
    content.addEventListener("keydown", function (event) {
      if (event.altKey && event.key === "F10") {
        event.preventDefault();
        (toolbar.querySelector("[tabindex='0']") || buttons[0]).focus();
      }
    });

    // Bold, italic and lists say whether they are on where the caret is.
    document.addEventListener("selectionchange", function () {
      var selection = document.getSelection();
      if (!selection || !selection.anchorNode || !content.contains(selection.anchorNode)) { return; }
      buttons.forEach(function (button, index) {
        var state = BUTTONS[index].state;
        if (state) { button.setAttribute("aria-pressed", document.queryCommandState(state) ? "true" : "false"); }
      });
    });

    // Pasted HTML (from a word processor, a web page…) keeps its structure, nothing else.
    content.addEventListener("paste", function (event) {
      var data = event.clipboardData;
      var html = data && data.getData("text/html");
      if (!html) { return; }
      event.preventDefault();
      exec("insertHTML", serialise(clean(html)));
      source.value = content.innerHTML;
    });

    if (label) {
      label.addEventListener("click", function (event) { event.preventDefault(); content.focus(); });
    }
    source.hidden = true;
    holder.hidden = false;
    source.richEditor = content;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-rich-editor]").forEach(setUp);
    // A refused save: focus the first field with an error (the editor stands for its textarea).
    var invalid = document.querySelector("form [aria-invalid=true]");
    if (invalid) { (invalid.richEditor || invalid).focus(); }
  });
})();
