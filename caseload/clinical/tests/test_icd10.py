"""ICD-10-CM search and lookup over the real `simple-icd-10-cm` code set.

The index is built once per process (a few seconds) and shared by every test here; none of
these tests touch the database.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from caseload.clinical import icd10


@pytest.fixture(scope="module")
def cm() -> Any:
    """The package itself, as an independent oracle. Imported here, not at collection (it
    takes seconds), and before the index is built, so the build leaves it loaded."""
    import simple_icd_10_cm

    return simple_icd_10_cm


@pytest.fixture(scope="module")
def index(cm: Any) -> icd10.Icd10Index:
    return icd10.get_index()


def codes(results: list[icd10.IcdCode]) -> list[str]:
    return [entry.code for entry in results]


# Search by code -------------------------------------------------------------------------
def test_code_prefix_lists_the_billable_codes_under_it_in_code_order(
    index: icd10.Icd10Index,
) -> None:
    assert codes(index.search("F41")) == ["F41.0", "F41.1", "F41.3", "F41.8", "F41.9"]


@pytest.mark.parametrize("query", ["f41.1", "F41.1", "F411", " f411 "])
def test_code_search_ignores_case_dot_and_spaces(index: icd10.Icd10Index, query: str) -> None:
    assert codes(index.search(query)) == ["F41.1"]


def test_code_search_descends_into_subcategories(index: icd10.Icd10Index) -> None:
    found = codes(index.search("F43.1"))
    assert found == ["F43.10", "F43.11", "F43.12"]


def test_code_search_respects_the_limit(index: icd10.Icd10Index) -> None:
    found = index.search("F", limit=7)
    assert len(found) == 7
    assert all(entry.code.startswith("F") for entry in found)


# Search by words ------------------------------------------------------------------------
def test_words_find_generalized_anxiety_disorder_first(index: icd10.Icd10Index) -> None:
    found = index.search("generalized anx")
    assert found[0] == icd10.IcdCode("F41.1", "Generalized anxiety disorder")


def test_words_are_prefixes_in_any_order_and_case(index: icd10.Icd10Index) -> None:
    assert codes(index.search("ANX GENERALIZ"))[0] == "F41.1"


def test_every_word_must_match(index: icd10.Icd10Index) -> None:
    found = index.search("major depressive recurrent severe")
    assert found
    for entry in found:
        text = entry.description.lower()
        assert "major depressive" in text and "recurrent" in text and "severe" in text


def test_words_search_folds_punctuation(index: icd10.Icd10Index) -> None:
    assert "F43.10" in codes(index.search("post-traumatic stress"))


@pytest.mark.parametrize(
    ("abbreviation", "expected"),
    [
        ("ptsd", {"F43.10", "F43.11", "F43.12"}),
        ("adhd", {"F90.0", "F90.1", "F90.2", "F90.8", "F90.9"}),
        ("gad", {"F41.1"}),
        ("PTSD chronic", {"F43.12"}),
    ],
)
def test_clinical_abbreviations_expand_to_icd_wording(
    index: icd10.Icd10Index, abbreviation: str, expected: set[str]
) -> None:
    assert set(codes(index.search(abbreviation))) == expected


def test_mental_health_codes_rank_before_other_chapters(index: icd10.Icd10Index) -> None:
    found = codes(index.search("insomnia", limit=50))
    chapters = [code.startswith("F") for code in found]
    assert True in chapters and False in chapters  # F51 and G47 both match
    assert chapters == sorted(chapters, reverse=True)  # every F code before any other
    assert found[0] == "F51.01"  # "Primary insomnia"


def test_a_single_common_letter_answers_with_a_full_page(index: icd10.Icd10Index) -> None:
    # One letter matches tens of thousands of descriptions; the first page still comes back.
    found = index.search("e", limit=20)
    assert len(found) == 20
    assert all(any(w.startswith("e") for w in icd10._fold(e.description).split()) for e in found)


@pytest.mark.parametrize("query", ["", "   ", "zzqx", "sequela initial", "!!!", "F41.10"])
def test_nothing_matches_returns_nothing(index: icd10.Icd10Index, query: str) -> None:
    assert index.search(query) == []


@pytest.mark.parametrize("query", ["F99", "mental disorder not otherwise", "B20", "Z66"])
def test_three_character_billable_codes_are_listed_once(
    index: icd10.Icd10Index, query: str
) -> None:
    # The package lists these codes (a category that is its own billable code) twice.
    found = codes(index.search(query, limit=50))
    assert found and len(found) == len(set(found))


def test_search_returns_only_billable_leaf_codes(index: icd10.Icd10Index, cm: Any) -> None:
    queries = ["F41", "F4", "F43.1", "Z63", "anxiety", "depress", "ptsd", "fracture femur"]
    for query in queries:
        for entry in index.search(query, limit=50):
            assert cm.is_leaf(entry.code), (query, entry.code)


def test_index_holds_every_billable_code_and_no_category(index: icd10.Icd10Index) -> None:
    assert "F41.1" in index.by_code and "F32.A" in index.by_code and "I10" in index.by_code
    assert "F41" not in index.by_code and "F43.1" not in index.by_code
    assert len(index) > 70000


# Lookup ---------------------------------------------------------------------------------
@pytest.mark.parametrize("written", ["F41.1", "f41.1", "F411", "f411", "  F41.1 "])
def test_lookup_billable_accepts_with_or_without_dot_in_any_case(written: str) -> None:
    assert icd10.lookup_billable(written) == icd10.IcdCode("F41.1", "Generalized anxiety disorder")


def test_lookup_billable_accepts_three_character_and_lettered_codes() -> None:
    assert icd10.lookup_billable("i10") is not None
    assert icd10.lookup_billable("f32a") == icd10.lookup_billable("F32.A")


@pytest.mark.parametrize("refused", ["F41", "F43.1", "F", "Z63", "", "nonsense", "F41.10", "F4.11"])
def test_lookup_billable_refuses_categories_and_nonsense(refused: str) -> None:
    assert icd10.lookup_billable(refused) is None


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("F41", True),
        ("f43.1", True),
        ("Z63", True),
        ("F41.1", False),
        ("F4", False),
        ("anxiety", False),
        ("XYZ", False),
        ("", False),
    ],
)
def test_is_category_only_for_headings_with_billable_codes_under_them(
    code: str, category: bool
) -> None:
    assert icd10.is_category(code) is category


def test_index_is_built_once_even_when_threads_race_for_it(
    index: icd10.Icd10Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Start from "not built yet" (the shared index comes back after the test).
    monkeypatch.setattr(icd10, "_index", None)
    barrier = threading.Barrier(4)
    seen: list[icd10.Icd10Index] = []

    def ask() -> None:
        barrier.wait()
        seen.append(icd10.get_index())

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4
    assert len({id(index) for index in seen}) == 1
    assert seen[0] is icd10.get_index()
