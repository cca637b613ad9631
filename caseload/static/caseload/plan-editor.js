// Treatment plan editor (pell, vendored): edits the HTML kept in the plain textarea, which
// is what the form posts. Without JavaScript the textarea itself is the editor.
(function () {
  "use strict";
  function setUp(holder) {
    var source = document.getElementById(holder.getAttribute("data-rich-editor"));
    if (!source || !window.pell || holder.dataset.ready) { return; }
    holder.dataset.ready = "1";
    var block = function (tag) { return function () { window.pell.exec("formatBlock", "<" + tag + ">"); }; };
    var editor = window.pell.init({
      element: holder,
      defaultParagraphSeparator: "p",
      styleWithCSS: false,
      onChange: function (html) { source.value = html; },
      actions: [
        { name: "heading2", icon: "H2", title: "Heading", result: block("h2") },
        { name: "heading3", icon: "H3", title: "Subheading", result: block("h3") },
        { name: "paragraph", icon: "¶", title: "Paragraph", result: block("p") },
        "bold", "italic", "ulist", "olist", "link"
      ]
    });
    editor.content.innerHTML = source.value;
    editor.content.setAttribute("role", "textbox");
    editor.content.setAttribute("aria-multiline", "true");
    editor.content.setAttribute("aria-labelledby", holder.getAttribute("aria-labelledby"));
    holder.querySelectorAll(".pell-button").forEach(function (button) {
      button.setAttribute("aria-label", button.title);
    });
    source.hidden = true;
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-rich-editor]").forEach(setUp);
  });
})();
