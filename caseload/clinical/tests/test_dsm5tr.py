"""DSM-5-TR names in the diagnosis picker: the table (dsm5tr.toml) and the merged search.

Uses the real ICD-10-CM index (built once per process, a few seconds); no database.
"""

from __future__ import annotations

import time
import tomllib
from typing import Any

import pytest

from caseload.clinical import dsm5tr, icd10


@pytest.fixture(scope="module")
def cm() -> Any:
    import simple_icd_10_cm

    return simple_icd_10_cm


@pytest.fixture(scope="module")
def index(cm: Any) -> icd10.Icd10Index:
    return icd10.get_index()


def top(query: str, n: int = 3) -> list[str]:
    return [entry.code for entry in icd10.search(query, limit=15)[:n]]


def mapped_codes() -> list[str]:
    with dsm5tr.TABLE.open("rb") as handle:
        table = tomllib.load(handle)
    codes: list[str] = []
    for disorder in table["disorder"]:
        codes.extend([disorder["code"]] if "code" in disorder else disorder["codes"].values())
    return sorted(set(codes))


# The table -------------------------------------------------------------------------------
def test_every_mapped_code_is_a_billable_code_of_the_installed_set(
    cm: Any, index: icd10.Icd10Index
) -> None:
    codes = mapped_codes()
    assert len(codes) > 150
    not_billable = [code for code in codes if not (cm.is_valid_item(code) and cm.is_leaf(code))]
    assert not_billable == []
    assert [code for code in codes if code not in index.by_code] == []


def test_every_disorder_has_a_name_and_a_code() -> None:
    with dsm5tr.TABLE.open("rb") as handle:
        table = tomllib.load(handle)
    for disorder in table["disorder"]:
        assert disorder["name"].strip()
        assert ("code" in disorder) != ("codes" in disorder), disorder["name"]


def test_specifiers_that_share_a_code_make_one_entry() -> None:
    found = dsm5tr.search("alcohol use disorder")
    assert [(entry.code, entry.name) for entry in found[:2]] == [
        ("F10.10", "Alcohol use disorder, mild"),
        ("F10.20", "Alcohol use disorder, moderate or severe"),
    ]


# The merged search: DSM-5-TR names, synonyms, abbreviations and specifiers ----------------
EXPECTED_IN_TOP_3 = [
    ("autism", "F84.0"),
    ("autism spectrum disorder", "F84.0"),
    ("ASD", "F84.0"),
    ("asperger", "F84.0"),
    ("alcohol use disorder", "F10.20"),
    ("alcohol use disorder mild", "F10.10"),
    ("alcohol use disorder, moderate", "F10.20"),
    ("alcohol use disorder severe", "F10.20"),
    ("AUD", "F10.10"),
    ("cannabis use disorder", "F12.10"),
    ("cannabis use disorder severe", "F12.20"),
    ("opioid use disorder", "F11.20"),
    ("opioid use disorder mild", "F11.10"),
    ("OUD", "F11.20"),
    ("cocaine use disorder", "F14.20"),
    ("stimulant use disorder amphetamine moderate", "F15.20"),
    ("tobacco use disorder moderate", "F17.200"),
    ("persistent depressive disorder", "F34.1"),
    ("dysthymia", "F34.1"),
    ("social anxiety disorder", "F40.10"),
    ("social anxiety", "F40.10"),
    ("insomnia disorder", "F51.01"),
    ("insomnia", "F51.01"),
    ("gender dysphoria", "F64.0"),
    ("gender dysphoria in children", "F64.2"),
    ("posttraumatic", "F43.10"),
    ("posttraumatic stress disorder", "F43.10"),
    ("post-traumatic stress disorder", "F43.10"),
    ("PTSD", "F43.10"),
    ("OCD", "F42.2"),
    ("obsessive-compulsive disorder", "F42.2"),
    ("depression", "F32.0"),
    ("major depressive disorder", "F32.1"),
    ("MDD single episode severe", "F32.2"),
    ("MDD recurrent moderate", "F33.1"),
    ("major depressive disorder recurrent severe", "F33.2"),
    ("MDD recurrent in full remission", "F33.42"),
    ("unspecified depressive disorder", "F32.A"),
    ("generalized anxiety disorder", "F41.1"),
    ("generalised anxiety", "F41.1"),
    ("GAD", "F41.1"),
    ("anxiety", "F41.1"),
    ("panic disorder", "F41.0"),
    ("agoraphobia", "F40.00"),
    ("separation anxiety", "F93.0"),
    ("ADHD", "F90.2"),
    ("ADHD combined", "F90.2"),
    ("ADHD inattentive", "F90.0"),
    ("ADHD hyperactive", "F90.1"),
    ("attention-deficit/hyperactivity disorder", "F90.2"),
    ("bipolar", "F31.11"),
    ("bipolar II", "F31.81"),
    ("bipolar I depressed moderate", "F31.32"),
    ("cyclothymia", "F34.0"),
    ("adjustment disorder", "F43.21"),
    ("adjustment disorder with anxiety", "F43.22"),
    ("adjustment disorder mixed anxiety and depressed mood", "F43.23"),
    ("adjustment disorder with disturbance of conduct", "F43.24"),
    ("prolonged grief disorder", "F43.81"),
    ("acute stress disorder", "F43.0"),
    ("borderline personality disorder", "F60.3"),
    ("BPD", "F60.3"),
    ("anorexia nervosa restricting moderate", "F50.011"),
    ("bulimia", "F50.21"),
    ("binge eating disorder", "F50.810"),
    ("ARFID", "F50.82"),
    ("ODD", "F91.3"),
    ("oppositional defiant disorder", "F91.3"),
    ("intermittent explosive disorder", "F63.81"),
    ("gambling disorder", "F63.0"),
    ("hoarding", "F42.3"),
    ("body dysmorphic disorder", "F45.22"),
    ("trichotillomania", "F63.3"),
    ("skin picking", "F42.4"),
    ("schizophrenia", "F20.9"),
    ("schizoaffective bipolar type", "F25.0"),
    ("dissociative identity disorder", "F44.81"),
    ("somatic symptom disorder", "F45.1"),
    ("illness anxiety disorder", "F45.21"),
    ("PMDD", "F32.81"),
    ("DMDD", "F34.81"),
    ("intellectual disability mild", "F70"),
    ("dyslexia", "F81.0"),
    ("tourette", "F95.2"),
    ("stuttering", "F80.81"),
    ("reactive attachment disorder", "F94.1"),
    ("selective mutism", "F94.0"),
    ("enuresis", "F98.0"),
    ("nightmare disorder", "F51.5"),
    ("bereavement", "Z63.4"),
    ("relationship distress with spouse", "Z63.0"),
    ("parent-child relational problem", "Z62.820"),
    ("divorce", "Z63.5"),
    ("homelessness", "Z59.00"),
    ("suicidal ideation", "R45.851"),
    ("self-harm", "R45.88"),
    ("childhood abuse", "Z62.810"),
]


def test_the_query_table_is_large_enough() -> None:
    assert len(EXPECTED_IN_TOP_3) >= 60


@pytest.mark.parametrize(("query", "expected"), EXPECTED_IN_TOP_3)
def test_dsm5tr_names_find_their_code_in_the_top_three(
    index: icd10.Icd10Index, query: str, expected: str
) -> None:
    assert expected in top(query), (query, top(query, 10))


@pytest.mark.parametrize(
    "query", ["alcohol use disorder", "cannabis use disorder", "opioid use disorder"]
)
def test_use_disorders_lead_with_the_severity_codes_not_induced_disorders(
    index: icd10.Icd10Index, query: str
) -> None:
    found = icd10.search(query, limit=15)[:2]
    assert [entry.dsm_name.rsplit(", ", 1)[-1] for entry in found] == ["mild", "moderate or severe"]
    assert all("induced" not in entry.description for entry in found)


def test_depression_does_not_rank_postpartum_first(index: icd10.Icd10Index) -> None:
    found = top("depression", 5)
    assert "F53.0" not in found
    assert all(code.startswith(("F32", "F33")) for code in found[:3])


def test_each_code_is_listed_once_with_its_dsm_name_and_icd_description(
    index: icd10.Icd10Index,
) -> None:
    found = icd10.search("ptsd", limit=15)
    codes = [entry.code for entry in found]
    assert len(codes) == len(set(codes))
    assert found[0] == icd10.IcdCode(
        "F43.10", "Post-traumatic stress disorder, unspecified", "Posttraumatic stress disorder"
    )


def test_icd_wording_still_finds_what_the_table_does_not_name(index: icd10.Icd10Index) -> None:
    found = icd10.search("fracture femur", limit=20)
    assert len(found) == 20
    assert all("fracture" in e.description.lower() and not e.dsm_name for e in found)
    assert top("generalized anx", 1) == ["F41.1"]


def test_code_queries_are_answered_by_code(index: icd10.Icd10Index) -> None:
    assert top("F41", 5) == ["F41.0", "F41.1", "F41.3", "F41.8", "F41.9"]
    assert top("f411", 5) == ["F41.1"]


def test_therapists_z_codes_rank_before_other_chapters_for_shared_words(
    index: icd10.Icd10Index,
) -> None:
    # "abuse": after chapter F, the Z codes of a therapist's record come before injury codes.
    found = [entry.code for entry in index.search("abuse", limit=200)]
    groups = [icd10.rank_group(code) for code in found]
    assert groups == sorted(groups)
    assert 1 in groups and 2 in groups
    assert icd10.rank_group("Z63.0") == 1 and icd10.rank_group("Z00.00") == 2


def test_search_stays_fast(index: icd10.Icd10Index) -> None:
    queries = [q for q, _ in EXPECTED_IN_TOP_3] + ["e", "disorder", "an", "unspecified"]
    icd10.search("warm up")
    start = time.perf_counter()
    for query in queries:
        icd10.search(query, limit=15)
    per_query = (time.perf_counter() - start) / len(queries)
    assert per_query < 0.005  # about 0.3 ms here; generous for a loaded CI machine
