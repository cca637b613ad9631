"""PHQ-9 and GAD-7 scoring against the published rules: every band boundary, the item-9 flag."""

from __future__ import annotations

import pytest

from caseload.documents.scoring import GAD7, PHQ9, score, severity
from caseload.documents.tests.helpers import answers_for

PHQ9_BOUNDARIES = [
    (0, "Minimal"),
    (1, "Minimal"),
    (4, "Minimal"),
    (5, "Mild"),
    (9, "Mild"),
    (10, "Moderate"),
    (14, "Moderate"),
    (15, "Moderately severe"),
    (19, "Moderately severe"),
    (20, "Severe"),
    (24, "Severe"),
]
GAD7_BOUNDARIES = [
    (0, "Minimal"),
    (4, "Minimal"),
    (5, "Mild"),
    (9, "Mild"),
    (10, "Moderate"),
    (14, "Moderate"),
    (15, "Severe"),
    (21, "Severe"),
]


@pytest.mark.parametrize(("total", "expected"), PHQ9_BOUNDARIES)
def test_phq9_band_boundaries(total, expected):
    result = score("phq9", answers_for("phq9", total, q9=0))

    assert result.total == total
    assert result.severity == expected
    assert result.flagged is False  # item 9 is 0: never flagged, whatever the total


def test_phq9_maximum_27_is_severe_and_flagged():
    result = score("phq9", {f"q{n}": "3" for n in range(1, 10)})

    assert (result.total, result.severity, result.flagged) == (27, "Severe", True)


@pytest.mark.parametrize(("total", "expected"), GAD7_BOUNDARIES)
def test_gad7_band_boundaries(total, expected):
    result = score("gad7", answers_for("gad7", total))

    assert result.total == total
    assert result.severity == expected


@pytest.mark.parametrize(
    ("scale", "low", "high", "name"),
    [
        (PHQ9, 0, 4, "Minimal"),
        (PHQ9, 5, 9, "Mild"),
        (PHQ9, 10, 14, "Moderate"),
        (PHQ9, 15, 19, "Moderately severe"),
        (PHQ9, 20, 27, "Severe"),
        (GAD7, 0, 4, "Minimal"),
        (GAD7, 5, 9, "Mild"),
        (GAD7, 10, 14, "Moderate"),
        (GAD7, 15, 21, "Severe"),
    ],
)
def test_severity_covers_each_band_exactly(scale, low, high, name):
    assert all(severity(scale, total) == name for total in range(low, high + 1))
    if low > 0:
        assert severity(scale, low - 1) != name
    if high < scale.maximum:
        assert severity(scale, high + 1) != name


@pytest.mark.parametrize(("scale", "total"), [(PHQ9, -1), (PHQ9, 28), (GAD7, -1), (GAD7, 22)])
def test_severity_outside_the_scale_raises(scale, total):
    with pytest.raises(ValueError, match="outside"):
        severity(scale, total)


@pytest.mark.parametrize("q9", [1, 2, 3])
def test_any_answer_above_0_on_item_9_flags_even_at_a_minimal_total(q9):
    result = score("phq9", answers_for("phq9", q9, q9=q9))

    assert result.total == q9
    assert result.flagged is True
    assert result.severity == "Minimal"


def test_item_9_at_0_never_flags_even_at_the_highest_total_it_allows():
    result = score("phq9", answers_for("phq9", 24, q9=0))  # q1–q8 all "Nearly every day"

    assert (result.total, result.severity, result.flagged) == (24, "Severe", False)


def test_gad7_never_flags():
    assert score("gad7", answers_for("gad7", 21)).flagged is False
    assert score("gad7", {f"q{n}": "3" for n in range(1, 8)}).flagged is False


@pytest.mark.parametrize("scale_key", ["phq9", "gad7"])
def test_the_difficulty_question_does_not_count(scale_key):
    answers = answers_for(scale_key, 7)

    with_difficulty = score(scale_key, {**answers, "difficulty": "extremely"})

    assert with_difficulty == score(scale_key, answers)
    assert with_difficulty.total == 7


@pytest.mark.parametrize("missing", [f"q{n}" for n in range(1, 10)])
def test_a_missing_phq9_item_raises(missing):
    answers = answers_for("phq9", 10)
    del answers[missing]

    with pytest.raises(ValueError, match=f"item {missing} is not answered"):
        score("phq9", answers)


@pytest.mark.parametrize("missing", [f"q{n}" for n in range(1, 8)])
def test_a_missing_gad7_item_raises(missing):
    answers = answers_for("gad7", 10)
    del answers[missing]

    with pytest.raises(ValueError, match=f"item {missing} is not answered"):
        score("gad7", answers)


@pytest.mark.parametrize("bad", ["4", "-1", 7])
def test_an_out_of_range_item_raises(bad):
    with pytest.raises(ValueError, match="must be 0–3"):
        score("phq9", {**answers_for("phq9", 0), "q3": bad})


@pytest.mark.parametrize("bad", ["", "x", None, "1.5", []])
def test_an_item_that_is_not_a_number_counts_as_unanswered(bad):
    with pytest.raises(ValueError, match="item q2 is not answered"):
        score("gad7", {**answers_for("gad7", 0), "q2": bad})


def test_integer_and_string_answers_score_alike():
    as_text = answers_for("phq9", 12)

    assert score("phq9", {k: int(v) for k, v in as_text.items()}) == score("phq9", as_text)


def test_scales_have_the_published_item_counts_and_maxima():
    assert (len(PHQ9.items), PHQ9.maximum, PHQ9.flag_items) == (9, 27, ("q9",))
    assert (len(GAD7.items), GAD7.maximum, GAD7.flag_items) == (7, 21, ())
