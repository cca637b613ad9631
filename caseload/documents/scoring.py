"""Scoring of the standard questionnaires, by their published rules.

PHQ-9 (Kroenke, Spitzer & Williams 2001): nine items scored 0–3, total 0–27; severity
1–4 minimal, 5–9 mild, 10–14 moderate, 15–19 moderately severe, 20–27 severe (0 is "none-
minimal" in the published table; shown here as minimal). Any answer above 0 on item 9
(thoughts of being better off dead or of self-harm) needs the clinician's attention at once,
whatever the total.

GAD-7 (Spitzer, Kroenke, Williams & Löwe 2006): seven items scored 0–3, total 0–21; severity
0–4 minimal, 5–9 mild, 10–14 moderate, 15–21 severe.

The "how difficult" question that closes both is not part of the score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caseload.documents.fields import crisis_answered


@dataclass(frozen=True)
class Scale:
    key: str
    name: str
    items: tuple[str, ...]
    bands: tuple[tuple[int, int, str], ...]  # (lowest, highest, severity), inclusive
    flag_items: tuple[str, ...] = ()

    @property
    def maximum(self) -> int:
        return 3 * len(self.items)


PHQ9 = Scale(
    key="phq9",
    name="PHQ-9",
    items=tuple(f"q{n}" for n in range(1, 10)),
    bands=(
        (0, 4, "Minimal"),
        (5, 9, "Mild"),
        (10, 14, "Moderate"),
        (15, 19, "Moderately severe"),
        (20, 27, "Severe"),
    ),
    flag_items=("q9",),
)
GAD7 = Scale(
    key="gad7",
    name="GAD-7",
    items=tuple(f"q{n}" for n in range(1, 8)),
    bands=((0, 4, "Minimal"), (5, 9, "Mild"), (10, 14, "Moderate"), (15, 21, "Severe")),
)
SCALES = {scale.key: scale for scale in (PHQ9, GAD7)}


@dataclass(frozen=True)
class Score:
    total: int
    severity: str
    flagged: bool


def severity(scale: Scale, total: int) -> str:
    for low, high, name in scale.bands:
        if low <= total <= high:
            return name
    raise ValueError(f"{scale.name} total {total} is outside 0–{scale.maximum}.")


def score(scale_key: str, answers: dict[str, Any]) -> Score:
    """Score complete answers; ValueError when an item is missing or out of range."""
    scale = SCALES[scale_key]
    values: dict[str, int] = {}
    for item in scale.items:
        try:
            value = int(answers[item])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{scale.name}: item {item} is not answered.") from None
        if not 0 <= value <= 3:
            raise ValueError(f"{scale.name}: item {item} must be 0–3, not {value}.")
        values[item] = value
    total = sum(values.values())
    flagged = any(values[item] > 0 for item in scale.flag_items)
    return Score(total=total, severity=severity(scale, total), flagged=flagged)


def needs_crisis_response(
    scale_key: str, fields: list[dict[str, Any]], answers: dict[str, Any]
) -> bool:
    """The answers call for the crisis response at once: a flag item (PHQ-9 item 9) above 0,
    or a safety question answered "yes". Reads the answers only, never a stored score."""
    scale = SCALES.get(scale_key)
    if scale is not None:
        for item in scale.flag_items:
            try:
                if int(answers.get(item) or 0) > 0:
                    return True
            except (TypeError, ValueError):
                continue
    return crisis_answered(fields, answers)


# Measurement-based care: is the client on track? (decision 0026) ------------------------
#: The least change in a total that is more than measurement error: PHQ-9 5 points (Löwe et
#: al. 2004), GAD-7 4 points (Toussaint et al. 2020; the NHS Talking Therapies manual).
RELIABLE_CHANGE = {"phq9": 5, "gad7": 4}
#: The clinical cut-off of both scales ("moderate" from 10).
CLINICAL_CUT_OFF = 10
#: How long a client in the clinical range is measured before "no reliable improvement"
#: counts as not on track.
WEEKS_TO_RESPOND = 8


@dataclass(frozen=True)
class Progress:
    on_track: bool
    text: str  # why, in a sentence fragment a clinician reads at a glance


def progress(scale_key: str, *, first: int, latest: int, weeks: float, count: int) -> Progress:
    """The published rule (decision 0026): NOT on track after a reliable deterioration (the
    total rose by the reliable change or more), or when a client who started in the clinical
    range (10 or more) shows no reliable improvement after WEEKS_TO_RESPOND weeks."""
    threshold = RELIABLE_CHANGE[scale_key]
    change = latest - first
    if count < 2:
        return Progress(True, "one score so far")
    if change >= threshold:
        return Progress(False, f"reliable deterioration (up {change}; {threshold} is reliable)")
    if -change >= threshold:
        return Progress(True, f"reliable improvement (down {-change}; {threshold} is reliable)")
    if first >= CLINICAL_CUT_OFF and weeks >= WEEKS_TO_RESPOND:
        return Progress(
            False,
            f"no reliable improvement after {int(weeks)} weeks ({threshold} points needed)",
        )
    return Progress(True, "no reliable change yet")
