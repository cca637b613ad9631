"""ICD-10-CM code search over the full code set shipped by `simple-icd-10-cm`.

The package parses its XML on import (about 2 s), so the index is built once per process on
first use and kept in memory: a sorted list of billable codes for code-prefix search and an
inverted index from word prefixes' words to codes for search by words. A query answers in
well under a millisecond once warm (bench/icd10_search.py prints the figures).
"""

from __future__ import annotations

import bisect
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache

CODE_QUERY = re.compile(r"^[A-Za-z]\d[0-9A-Za-z]?(\.?[0-9A-Za-z]{0,4})?$")
WORD = re.compile(r"[a-z0-9]+")
#: Abbreviations clinicians type, expanded to the words ICD-10-CM uses.
ABBREVIATIONS = {
    "adhd": "attention deficit hyperactivity",
    "add": "attention deficit",
    "gad": "generalized anxiety",
    "mdd": "major depressive",
    "ocd": "obsessive compulsive",
    "ptsd": "post traumatic stress",
    "bpd": "borderline personality",
    "aud": "alcohol use",
    "oud": "opioid use",
    "sud": "use disorder",
}
_lock = threading.Lock()


@dataclass(frozen=True)
class IcdCode:
    code: str  # with its dot, as clinicians write it: F41.1
    description: str


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class Icd10Index:
    def __init__(self, entries: list[IcdCode]) -> None:
        self.entries = sorted(entries, key=lambda entry: entry.code)
        self.by_code = {entry.code: entry for entry in self.entries}
        self.compact_codes = [entry.code.replace(".", "") for entry in self.entries]
        postings: dict[str, list[int]] = {}
        for position, entry in enumerate(self.entries):
            for word in set(WORD.findall(_fold(entry.description))):
                postings.setdefault(word, []).append(position)
        self.words = sorted(postings)
        self.postings = postings

    def lookup(self, code: str) -> IcdCode | None:
        """The billable code, written with or without its dot, in any case; else None."""
        code = code.strip().upper()
        if "." not in code and len(code) > 3:
            code = f"{code[:3]}.{code[3:]}"
        return self.by_code.get(code)

    def _positions_for_word_prefix(self, prefix: str) -> set[int]:
        found: set[int] = set()
        start = bisect.bisect_left(self.words, prefix)
        for word in self.words[start:]:
            if not word.startswith(prefix):
                break
            found.update(self.postings[word])
        return found

    def search(self, query: str, limit: int = 20) -> list[IcdCode]:
        query = query.strip()
        if not query:
            return []
        if CODE_QUERY.match(query):
            prefix = query.upper().replace(".", "")
            start = bisect.bisect_left(self.compact_codes, prefix)
            results: list[IcdCode] = []
            for position in range(start, len(self.entries)):
                if not self.compact_codes[position].startswith(prefix) or len(results) >= limit:
                    break
                results.append(self.entries[position])
            if results:
                return results
        folded = " ".join(ABBREVIATIONS.get(word, word) for word in WORD.findall(_fold(query)))
        tokens = WORD.findall(folded)
        if not tokens:
            return []
        # Rarest token first keeps the intersection small.
        candidate_sets = sorted(
            (self._positions_for_word_prefix(token) for token in tokens), key=len
        )
        matches = set.intersection(*candidate_sets) if candidate_sets else set()
        # Mental and behavioural codes (chapter F) first, then shorter descriptions:
        # "Generalized anxiety disorder" before its variants.
        ranked = sorted(
            matches,
            key=lambda p: (
                not self.entries[p].code.startswith("F"),
                len(self.entries[p].description),
                p,
            ),
        )
        return [self.entries[position] for position in ranked[:limit]]


def _load_entries() -> list[IcdCode]:
    import simple_icd_10_cm as cm

    # Dotted codes: the package's dotless forms go through a slow conversion on every call.
    return [
        IcdCode(code=code, description=cm.get_description(code))
        for code in cm.get_all_codes(True)
        if "-" not in code and not code.isdigit() and cm.is_leaf(code)
    ]


@cache
def get_index() -> Icd10Index:
    with _lock:
        return Icd10Index(_load_entries())


def search(query: str, limit: int = 20) -> list[IcdCode]:
    return get_index().search(query, limit)


def lookup_billable(code: str) -> IcdCode | None:
    return get_index().lookup(code)
