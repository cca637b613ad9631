"""DSM-5-TR names for the diagnosis picker.

Therapists search by the names the DSM-5-TR uses ("autism spectrum disorder", "alcohol use
disorder, moderate", "persistent depressive disorder"), many of which share no word with the
ICD-10-CM description of their code ("Autistic disorder", "Alcohol dependence,
uncomplicated", "Dysthymic disorder"). `dsm5tr.toml` beside this file maps each name, with
its synonyms, abbreviations and specifiers, to billable ICD-10-CM codes; `search` answers
from it, best match first, and `icd10.search` lists these answers before its own.

The table is small (a few hundred entries); an inverted index from each word to its entries
answers a query in tens of microseconds.
"""

from __future__ import annotations

import bisect
import re
import threading
import tomllib
import unicodedata
from pathlib import Path
from typing import Any, NamedTuple

TABLE = Path(__file__).with_name("dsm5tr.toml")
WORD = re.compile(r"[a-z0-9]+")


class DsmEntry(NamedTuple):
    code: str
    name: str  # the DSM-5-TR name with its specifiers: "Alcohol use disorder, moderate or severe"
    order: int  # position in the table: earlier entries rank first among equal matches
    words: frozenset[str]  # every word of the name, specifiers and synonyms
    name_words: frozenset[str]
    terms: frozenset[str]  # whole names and synonyms, folded to "word word …"


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _words(text: str) -> list[str]:
    return WORD.findall(fold(text).replace("'", ""))


def _entries(table: dict[str, Any]) -> list[DsmEntry]:
    entries: list[DsmEntry] = []
    for disorder in table["disorder"]:
        name: str = disorder["name"]
        also: list[str] = disorder.get("also", [])
        codes: dict[str, str] = (
            {"": disorder["code"]} if "code" in disorder else dict(disorder["codes"])
        )
        # Specifiers that share a code (moderate and severe use disorders) make one entry.
        by_code: dict[str, list[str]] = {}
        for specifier, code in codes.items():
            by_code.setdefault(code, []).append(specifier)
        base_terms = {" ".join(_words(term)) for term in [name, *also]}
        for code, specifiers in by_code.items():
            named = [s for s in specifiers if s]
            label = f"{name}, {' or '.join(named)}" if named else name
            name_words = set(_words(label))
            words = set(name_words)
            terms = set(base_terms)
            for specifier in named:
                for term in [name, *also]:
                    terms.add(" ".join(_words(f"{term} {specifier}")))
            for term in also:
                words.update(_words(term))
            entries.append(
                DsmEntry(
                    code=code,
                    name=label,
                    order=len(entries),
                    words=frozenset(words),
                    name_words=frozenset(name_words),
                    terms=frozenset(terms),
                )
            )
    return entries


def load(path: Path = TABLE) -> list[DsmEntry]:
    with path.open("rb") as handle:
        return _entries(tomllib.load(handle))


class DsmIndex:
    """The table with an inverted index from each word to the entries that contain it."""

    def __init__(self, table: list[DsmEntry]) -> None:
        self.entries = table
        postings: dict[str, set[int]] = {}
        for entry in table:
            for word in entry.words:
                postings.setdefault(word, set()).add(entry.order)
        self.words = tuple(sorted(postings))
        self.postings = {word: frozenset(orders) for word, orders in postings.items()}

    def _containing(self, token: str) -> set[int]:
        """Entries with a word that starts with `token`."""
        found: set[int] = set()
        for position in range(bisect.bisect_left(self.words, token), len(self.words)):
            word = self.words[position]
            if not word.startswith(token):
                break
            found |= self.postings[word]
        return found

    def search(self, query: str, limit: int = 20) -> list[DsmEntry]:
        """Entries matching every word of `query` (as whole words or word starts), best
        first; one entry per code."""
        tokens = list(dict.fromkeys(_words(query)))
        if not tokens or limit <= 0:
            return []
        candidates = self._containing(tokens[0])
        for token in tokens[1:]:
            if not candidates:
                return []
            candidates &= self._containing(token)
        phrase = " ".join(tokens)
        scored = sorted(
            (_score(self.entries[order], phrase, tokens), order) for order in candidates
        )
        seen: set[str] = set()
        results: list[DsmEntry] = []
        for _, order in scored:
            entry = self.entries[order]
            if entry.code not in seen:
                seen.add(entry.code)
                results.append(entry)
                if len(results) >= limit:
                    break
        return results


def _score(entry: DsmEntry, phrase: str, tokens: list[str]) -> int:
    """0: the query is a whole name or synonym; 1: every word is a whole word of the name;
    2: every word is a whole word somewhere; 3: every word only starts a word."""
    if phrase in entry.terms:
        return 0
    if all(token in entry.name_words for token in tokens):
        return 1
    if all(token in entry.words for token in tokens):
        return 2
    return 3


_index: DsmIndex | None = None
_lock = threading.Lock()


def get_index() -> DsmIndex:
    global _index
    if _index is None:
        with _lock:
            if _index is None:
                _index = DsmIndex(load())
    return _index


def search(query: str, limit: int = 20) -> list[DsmEntry]:
    return get_index().search(query, limit)
