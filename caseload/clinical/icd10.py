"""ICD-10-CM code search over the full code set shipped by `simple-icd-10-cm`.

The package parses its XML on import (a few seconds), so the index is built once per process
on first use and kept in memory:

- the billable codes in code order, for search by code prefix (a bisect);
- the same codes in *rank* order (mental and behavioural chapter first, then shorter
  descriptions), with an inverted index from each description word, and from each one- and
  two-letter word prefix, to the ranks that contain it. Search by words walks the rarest
  query word's ranks in order and stops at the limit, so even "e" or "unspecified" (tens of
  thousands of matches) answers in about a millisecond (bench/icd10_search.py prints the
  figures).

Building the index takes seconds (parsing the package's XML, then folding and indexing 75k
descriptions) and leaves the parsed tree's memory behind, so a process never builds it
itself: it reads the built index from a cache file under var/ (a tenth of a second), and when
that file is missing or stale a child process builds and writes it first. The file is
`marshal` data (strings, tuples, dicts and bytes; loading it runs no code), named by the
package's version and this module's own source, so a new release or a change here builds
a new one. App servers load it when they start, before their first request (caseload/startup.py).
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import heapq
import logging
import marshal
import os
import re
import subprocess
import sys
import threading
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any, NamedTuple

from caseload.clinical import dsm5tr

logger = logging.getLogger(__name__)

CODE_QUERY = re.compile(r"^[A-Za-z]\d[0-9A-Za-z]?(\.?[0-9A-Za-z]{0,4})?$")
WORD = re.compile(r"[a-z0-9]+")
#: Word prefixes up to this length (one or two letters) have their rank lists precomputed.
SHORT_PREFIX = 2
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


class IcdCode(NamedTuple):
    """A billable code as search and lookup return it."""

    code: str  # with its dot, as clinicians write it: F41.1
    description: str
    #: The DSM-5-TR name the search matched, when it came from the DSM-5-TR table.
    dsm_name: str = ""


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _compact(code: str) -> str:
    return code.strip().upper().replace(".", "")


#: Z-code categories therapists record (DSM-5-TR "other conditions that may be a focus of
#: clinical attention"): ranked right after chapter F for words both match.
THERAPIST_Z_CATEGORIES = (
    "Z55", "Z56", "Z57", "Z59", "Z60", "Z62", "Z63", "Z64", "Z65", "Z69", "Z70", "Z71",
    "Z72", "Z73", "Z75", "Z76.5", "Z91.1", "Z91.4", "Z91.5", "Z91.8",
)  # fmt: skip


def rank_group(code: str) -> int:
    """0 for chapter F, 1 for the Z codes therapists use, 2 for everything else."""
    if code.startswith("F"):
        return 0
    return 1 if code.startswith(THERAPIST_Z_CATEGORIES) else 2


def _unique(ranks: Iterable[int]) -> Iterator[int]:
    previous = -1
    for rank in ranks:
        if rank != previous:
            yield rank
            previous = rank


class Icd10Index:
    """Kept as plain strings, lists of strings and arrays of ints: almost nothing for the
    garbage collector to walk (one object per code would add tens of milliseconds to every
    full collection). Results are made into `IcdCode`s as they are returned."""

    def __init__(self, entries: list[IcdCode]) -> None:
        # Code order: search by code prefix.
        self.by_code: dict[str, str] = {entry.code: entry.description for entry in entries}
        self.codes = tuple(sorted(self.by_code))
        self.compact_codes = tuple(_compact(code) for code in self.codes)
        # Rank order: search by words returns the first matches in this order.
        self.ranked = tuple(
            sorted(
                self.codes,
                key=lambda code: (rank_group(code), len(self.by_code[code]), code),
            )
        )
        # " word word …" per rank: `" " + token in text` tests "a word starts with token".
        ranked_text: list[str] = []
        postings: dict[str, array[int]] = {}
        short: dict[str, array[int]] = {}
        for rank, code in enumerate(self.ranked):
            words = tuple(set(WORD.findall(_fold(self.by_code[code]))))
            ranked_text.append(" " + " ".join(words))
            for word in words:
                postings.setdefault(word, array("I")).append(rank)
            for prefix in {word[:1] for word in words} | {word[:2] for word in words}:
                short.setdefault(prefix, array("I")).append(rank)
        # Tuples of strings, not lists: the garbage collector stops tracking them.
        self.ranked_text = tuple(ranked_text)
        self.words = tuple(sorted(postings))
        self.postings = postings
        self.short_prefixes = short

    def state(self) -> dict[str, Any]:
        """Everything the index holds, as plain data for `marshal` (arrays as bytes)."""
        return {
            "by_code": self.by_code,
            "codes": self.codes,
            "compact_codes": self.compact_codes,
            "ranked": self.ranked,
            "ranked_text": self.ranked_text,
            "words": self.words,
            "postings": {word: ranks.tobytes() for word, ranks in self.postings.items()},
            "short_prefixes": {p: ranks.tobytes() for p, ranks in self.short_prefixes.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Icd10Index:
        def ranks(data: bytes) -> array[int]:
            found = array("I")
            found.frombytes(data)
            return found

        index = cls.__new__(cls)
        index.by_code = state["by_code"]
        index.codes = state["codes"]
        index.compact_codes = state["compact_codes"]
        index.ranked = state["ranked"]
        index.ranked_text = state["ranked_text"]
        index.words = state["words"]
        index.postings = {word: ranks(data) for word, data in state["postings"].items()}
        index.short_prefixes = {p: ranks(data) for p, data in state["short_prefixes"].items()}
        if len(index.codes) != len(index.ranked) or len(index.ranked) != len(index.ranked_text):
            raise ValueError("inconsistent ICD-10-CM index file")
        return index

    def __len__(self) -> int:
        return len(self.codes)

    def _entry(self, code: str) -> IcdCode:
        return IcdCode(code, self.by_code[code])

    def lookup(self, code: str) -> IcdCode | None:
        """The billable code, written with or without its dot, in any case; else None."""
        code = code.strip().upper()
        if "." not in code and len(code) > 3:
            code = f"{code[:3]}.{code[3:]}"
        return self._entry(code) if code in self.by_code else None

    def is_category(self, code: str) -> bool:
        """A code-shaped heading (F41, F43.1) that has billable codes under it."""
        if not CODE_QUERY.match(code.strip()):
            return False
        prefix = _compact(code)
        if len(prefix) < 3 or self.lookup(code) is not None:
            return False
        start = bisect.bisect_left(self.compact_codes, prefix)
        return start < len(self.compact_codes) and self.compact_codes[start].startswith(prefix)

    def _search_code(self, query: str, limit: int) -> list[IcdCode]:
        prefix = _compact(query)
        start = bisect.bisect_left(self.compact_codes, prefix)
        results: list[IcdCode] = []
        for position in range(start, len(self.codes)):
            if len(results) >= limit or not self.compact_codes[position].startswith(prefix):
                break
            results.append(self._entry(self.codes[position]))
        return results

    def _rank_lists(self, token: str) -> list[Sequence[int]]:
        """The ascending rank lists whose union is every entry with a word starting `token`."""
        if len(token) <= SHORT_PREFIX:
            found = self.short_prefixes.get(token)
            return [found] if found is not None else []
        lists: list[Sequence[int]] = []
        for position in range(bisect.bisect_left(self.words, token), len(self.words)):
            word = self.words[position]
            if not word.startswith(token):
                break
            lists.append(self.postings[word])
        return lists

    def _search_words(self, query: str, limit: int) -> list[IcdCode]:
        folded = " ".join(ABBREVIATIONS.get(word, word) for word in WORD.findall(_fold(query)))
        tokens = list(dict.fromkeys(WORD.findall(folded)))
        if not tokens:
            return []
        sized = []
        for token in tokens:
            lists = self._rank_lists(token)
            if not lists:
                return []
            sized.append((sum(len(ranks) for ranks in lists), token, lists))
        # Walk the rarest token's matches in rank order; check the others on each entry.
        sized.sort(key=lambda item: item[0])
        _, _, driver = sized[0]
        others = [f" {token}" for _, token, _ in sized[1:]]
        stream: Iterable[int] = driver[0] if len(driver) == 1 else _unique(heapq.merge(*driver))
        texts = self.ranked_text
        results: list[IcdCode] = []
        for rank in stream:
            text = texts[rank]
            if all(token in text for token in others):
                results.append(self._entry(self.ranked[rank]))
                if len(results) >= limit:
                    break
        return results

    def search(self, query: str, limit: int = 20) -> list[IcdCode]:
        query = query.strip()
        if not query or limit <= 0:
            return []
        if CODE_QUERY.match(query):
            results = self._search_code(query, limit)
            if results:
                return results
        return self._search_words(query, limit)


def _load_entries() -> list[IcdCode]:
    """Every billable (leaf) code with its description, read from `simple-icd-10-cm`.

    The package keeps its parsed XML in module globals: some 600,000 objects that every full
    garbage collection would walk (a pause of about 250 ms in each web process) and that hold
    memory nothing else needs. Once the codes are copied out, the package is unloaded again,
    unless something else had imported it first.
    """
    package = "simple_icd_10_cm"
    already_loaded = package in sys.modules
    import simple_icd_10_cm as cm

    # Dotted codes: the package's dotless forms go through a slow conversion on every call.
    entries = [
        IcdCode(code=code, description=cm.get_description(code))
        for code in cm.get_all_codes(True)
        if "-" not in code and not code.isdigit() and cm.is_leaf(code)
    ]
    if not already_loaded:
        for name in [name for name in sys.modules if name.split(".")[0] == package]:
            del sys.modules[name]
    return entries


ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = ROOT / "var"


def cache_path() -> Path:
    """The index file for this release of the code set and this version of the indexing."""
    key = hashlib.sha256(
        version("simple-icd-10-cm").encode() + b"\0" + Path(__file__).read_bytes()
    ).hexdigest()[:16]
    return CACHE_DIR / f"icd10-index-{key}.marshal"


def write_cache(path: Path) -> None:
    """Build the index from the package and write it to `path` (atomically)."""
    state = Icd10Index(_load_entries()).state()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with partial.open("wb") as out:
        marshal.dump(state, out)
    os.replace(partial, path)
    for stale in path.parent.glob("icd10-index-*.marshal"):
        if stale != path:
            stale.unlink(missing_ok=True)


def _read_cache(path: Path) -> Icd10Index | None:
    try:
        # One read, then loads: marshal.load on a file reads it in small pieces (4x slower).
        # Our own file under var/, written by write_cache(); marshal builds plain data only.
        return Icd10Index.from_state(marshal.loads(path.read_bytes()))  # noqa: S302
    except FileNotFoundError:
        return None
    except (OSError, EOFError, ValueError, TypeError, KeyError):
        logger.warning("ICD-10-CM index file %s is unreadable; building it again", path.name)
        return None


def _build_cache_in_child(path: Path) -> None:
    """Build the index file in a child process: this one never holds the parsed XML."""
    result = subprocess.run(  # noqa: S603 - this module, run by this interpreter
        [sys.executable, "-m", "caseload.clinical.icd10", str(path)],
        cwd=ROOT,
        capture_output=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        logger.warning(
            "Could not write the ICD-10-CM index file: %s",
            result.stderr.decode(errors="replace")[-500:],
        )


def _load_index() -> Icd10Index:
    path = cache_path()
    index = _read_cache(path)
    if index is None:
        _build_cache_in_child(path)
        index = _read_cache(path)
    if index is None:  # var/ not writable: build it here, as before the index file
        index = Icd10Index(_load_entries())
        gc.collect()  # free the unloaded package now, at start-up, not mid-request
    return index


_index: Icd10Index | None = None
_lock = threading.Lock()


def get_index() -> Icd10Index:
    """The process-wide index, loaded once even when several threads ask at the same time."""
    global _index
    if _index is None:
        with _lock:
            if _index is None:
                _index = _load_index()
    return _index


def search(query: str, limit: int = 20) -> list[IcdCode]:
    """The picker's search: DSM-5-TR names first (caseload/clinical/dsm5tr.toml), then the
    ICD-10-CM descriptions, each code once. A code-shaped query is answered by code only."""
    index = get_index()
    if CODE_QUERY.match(query.strip()) and index._search_code(query.strip(), 1):
        return index.search(query, limit)
    results = [
        IcdCode(entry.code, index.by_code[entry.code], entry.name)
        for entry in dsm5tr.search(query, limit)
        if entry.code in index.by_code
    ]
    seen = {entry.code for entry in results}
    for entry in index.search(query, limit + len(results)):
        if len(results) >= limit:
            break
        if entry.code not in seen:
            results.append(entry)
    return results


def lookup_billable(code: str) -> IcdCode | None:
    return get_index().lookup(code)


def is_category(code: str) -> bool:
    return get_index().is_category(code)


if __name__ == "__main__":
    write_cache(Path(sys.argv[1]) if len(sys.argv) > 1 else cache_path())
