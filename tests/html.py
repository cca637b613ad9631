"""Reading rendered pages in view tests without depending on exact markup."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
BLOCKS = {"p", "li", "div", "span"}


class _ById(HTMLParser):
    """Collects the text of the element with a given id, one string per innermost block."""

    def __init__(self, element_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.element_id = element_id
        self.depth = 0  # > 0 while inside the element
        self.found = False
        self.pieces: list[str] = []
        self.current: list[str] = []

    def _flush(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            self.pieces.append(text)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        if self.depth:
            self.depth += 1
            if tag in BLOCKS:
                self._flush()
        elif dict(attrs).get("id") == self.element_id:
            self.found = True
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or not self.depth:
            return
        if tag in BLOCKS:
            self._flush()
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.current.append(data)


def text_by_id(response: Any, element_id: str) -> list[str] | None:
    """The text blocks inside the element `element_id`, or None when there is no such element."""
    html = response.content.decode() if hasattr(response, "content") else str(response)
    parser = _ById(element_id)
    parser.feed(html)
    parser.close()
    return parser.pieces if parser.found else None


def field_errors(response: Any, name: str) -> list[str]:
    """The error messages shown for form field `name` (rendered as id="id_<name>_error")."""
    return text_by_id(response, f"id_{name}_error") or []


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            values = dict(attrs)
            self.forms.append(((values.get("method") or "get").lower(), values.get("action") or ""))


def post_form_actions(response: Any) -> list[str]:
    """Where the page's POST forms go, leaving out the site header's sign-out form."""
    html = response.content.decode() if hasattr(response, "content") else str(response)
    parser = _Forms()
    parser.feed(html)
    parser.close()
    return [
        action
        for method, action in parser.forms
        if method == "post" and action != "/accounts/logout/"
    ]


def redirect_target(response: Any) -> str | None:
    """Where a successful post sends the browser: HX-Location's path for htmx, else Location."""
    import json

    if "HX-Location" in response:
        return str(json.loads(response["HX-Location"])["path"])
    return response.get("HX-Redirect") or response.get("Location")
