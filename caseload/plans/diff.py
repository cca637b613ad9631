"""A readable diff between two plan versions: block by block, in words a clinician reads."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from html.parser import HTMLParser

BLOCKS = {"h2", "h3", "h4", "p", "li", "blockquote"}
PREFIX = {"h2": "## ", "h3": "### ", "h4": "#### ", "li": "• "}


class _BlockText(HTMLParser):
    """Turns sanitised plan HTML into one line of text per block (heading, paragraph, item)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._prefix = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCKS:
            self._flush()
            self._prefix = PREFIX.get(tag, "")
        elif tag == "br":
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        self._current.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.lines.append(self._prefix + text)
        self._current = []
        self._prefix = ""

    def close(self) -> None:
        super().close()
        self._flush()


def plan_lines(html: str) -> list[str]:
    parser = _BlockText()
    parser.feed(html)
    parser.close()
    return parser.lines


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same" | "added" | "removed"
    text: str


def diff_versions(old_html: str, new_html: str) -> list[DiffLine]:
    old, new = plan_lines(old_html), plan_lines(new_html)
    result: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            result.extend(DiffLine("same", line) for line in old[i1:i2])
            continue
        result.extend(DiffLine("removed", line) for line in old[i1:i2])
        result.extend(DiffLine("added", line) for line in new[j1:j2])
    return result
