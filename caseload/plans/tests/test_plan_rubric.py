"""The offline generator's plans follow the record: a rubric over a table of records × all 27
option combinations (Length × Tone × Format).

Rules checked on the HTML of every plan:
- documented risk → safety planning and risk monitoring (C-SSRS), at every length;
- every short-term objective is measurable: a number (an instrument threshold or a count)
  besides its target date, and a target date — no yes/no objectives;
- one primary trauma-focused protocol at a time (CPT, PE, EMDR or TF-CBT);
- a child's plan speaks of the caregiver in the third person;
- the presenting concerns are never cut in the middle of a word;
- substance use described in the text ("2-3 beers most evenings to sleep") is a problem.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date
from html import unescape

import pytest

from caseload.plans.generators import KnowledgeBaseGenerator, PlanInput, PlanOptions
from caseload.plans.generators.base import FORMATS, LENGTHS, TONES

START = date(2026, 11, 13)
COMBINATIONS = list(
    itertools.product([v for v, _ in LENGTHS], [v for v, _ in TONES], [v for v, _ in FORMATS])
)
LONG_CONCERNS = (
    "[client] describes persistent low mood, poor concentration and early waking since a "
    "[organisation] restructuring; drinks 2-3 beers most evenings to sleep and has stopped "
    "seeing friends. Reports worsening irritability with [name] and difficulty getting "
    "through a full working day without several long unscheduled breaks in the afternoons, "
    "especially on days after poor sleep, with rumination about finances and about the "
    "future of the household, which [name] shares, and a sense of being overwhelmingly "
    "behind in everything that matters to them personally and professionally."
)


@dataclass
class Case:
    name: str
    plan_input: PlanInput
    risk: bool = False
    substance: bool = False
    trauma: bool = False
    child: bool = False
    diagnoses: list[str] = field(default_factory=list)


def make(**values: object) -> PlanInput:
    defaults: dict[str, object] = {
        "age_band": "30-39",
        "is_child": False,
        "diagnoses": [],
        "presenting_concerns": "",
        "history": "",
        "medications": [],
        "recent_notes": [],
        "start_date": START,
    }
    defaults.update(values)
    return PlanInput(**defaults)  # type: ignore[arg-type]


CASES = [
    Case(
        "depression, beers to sleep, passive SI in a note",
        make(
            diagnoses=[
                ("F33.1", "Major depressive disorder, recurrent, moderate"),
                ("F41.1", "Generalized anxiety disorder"),
            ],
            presenting_concerns=LONG_CONCERNS,
            history="One prior depressive episode.",
            recent_notes=["Assessment: passive SI without plan or intent; PHQ-9 17."],
        ),
        risk=True,
        substance=True,
    ),
    Case(
        "adult PTSD",
        make(
            diagnoses=[("F43.10", "Post-traumatic stress disorder, unspecified")],
            presenting_concerns="Nightmares and avoidance since an assault; denies SI.",
        ),
        trauma=True,
    ),
    Case(
        "child ADHD and anxiety",
        make(
            age_band="6-12",
            is_child=True,
            diagnoses=[
                ("F90.2", "Attention-deficit hyperactivity disorder, combined type"),
                ("F41.1", "Generalized anxiety disorder"),
            ],
            presenting_concerns="Trouble finishing schoolwork and worries at bedtime.",
        ),
        child=True,
    ),
    Case(
        "adolescent PTSD with self-harm",
        make(
            age_band="13-17",
            is_child=True,
            diagnoses=[("F43.10", "Post-traumatic stress disorder, unspecified")],
            presenting_concerns="Flashbacks after a car crash; has been cutting her arms.",
        ),
        risk=True,
        trauma=True,
        child=True,
    ),
    Case(
        "no diagnosis yet, drinking described",
        make(presenting_concerns="Stress at work; drinking most nights to unwind."),
        substance=True,
    ),
    Case(
        "risk by code only",
        make(
            diagnoses=[
                ("F32.1", "Major depressive disorder, single episode, moderate"),
                ("R45.851", "Suicidal ideations"),
            ]
        ),
        risk=True,
    ),
    Case(
        "denied risk and no substance use",
        make(
            diagnoses=[("F41.0", "Panic disorder [episodic paroxysmal anxiety]")],
            presenting_concerns="Panic attacks on the bus. Denies SI/HI; no alcohol or drug use.",
        ),
    ),
]

HEADINGS = {
    "objectives": ("Short-term objectives", "Steps along the way", "Short-term objectives (STO)"),
    "interventions": ("Interventions", "How we will work"),
    "problems": ("Problems", "What we are working on", "Problem list"),
    "context": ("Clinical context", "Where we are starting"),
}
TARGET_DATE = re.compile(r"\b\d{1,2} (?:January|February|March|April|May|June|July|August|"
                         r"September|October|November|December) \d{4}\b")  # fmt: skip
PROTOCOLS = {
    "CPT": re.compile(r"\bCPT\b|Cognitive processing|stuck points", re.I),
    "PE": re.compile(r"Prolonged exposure|\bPE\b|in vivo exposure", re.I),
    "EMDR": re.compile(r"EMDR"),
    "TF-CBT": re.compile(r"TF-CBT"),
}


def section(html: str, kind: str) -> str:
    parts = re.split(r"<h3>(.*?)</h3>", html)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        if unescape(heading).startswith(HEADINGS[kind]):
            return body
    raise AssertionError(f"no {kind} section")


def text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


def objective_statements(body: str, fmt: str, tone: str) -> list[str]:
    if fmt != "narrative":
        return [text(item) for item in re.findall(r"<li>(.*?)</li>", body, re.S)]
    separators = r"(?<=\.)\s+|;\s+" if tone == "clinical" else r"(?<=\.)\s+"
    return [part for part in re.split(separators, text(body)) if part.strip()]


@pytest.mark.parametrize(("length", "tone", "fmt"), COMBINATIONS)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_plan_follows_the_record(case: Case, length: str, tone: str, fmt: str) -> None:
    html = KnowledgeBaseGenerator().generate(
        case.plan_input, PlanOptions(length=length, tone=tone, format=fmt)
    )
    plain = text(html)

    # Documented risk → safety planning and risk monitoring, at every length.
    if case.risk:
        assert re.search(r"safety plan", plain, re.I), "no safety planning"
        assert "C-SSRS" in plain, "no risk monitoring"
    else:
        assert "C-SSRS" not in plain

    # Every short-term objective: a target date and a number besides it.
    statements = [
        s
        for s in objective_statements(section(html, "objectives"), fmt, tone)
        if TARGET_DATE.search(s)
    ]
    assert len(statements) >= 3
    for statement in statements:
        assert re.search(r"\d", TARGET_DATE.sub("", statement)), f"not measurable: {statement}"

    # One trauma-focused protocol at a time.
    treatment = text(section(html, "interventions") + section(html, "objectives"))
    used = [name for name, pattern in PROTOCOLS.items() if pattern.search(treatment)]
    assert len(used) <= 1, used
    if case.trauma:
        assert len(used) == 1

    # A child's plan speaks of the caregiver in the third person.
    if case.child:
        assert re.search(r"caregiver|parent", plain, re.I)
        assert not re.search(r"your child|you and your child|as (?:a|the) parent, you", plain, re.I)

    # The presenting concerns are never cut mid-word.
    concerns = case.plan_input.presenting_concerns
    if concerns:
        context = text(section(html, "context"))
        found = re.search(
            r"(?:Presenting concerns|What brings you to therapy|CC): (.*?)(?:\s{2,}|$)", context
        )
        assert found, context
        shown = found.group(1).strip().removesuffix("…").strip().removesuffix(".")
        flat = " ".join(concerns.split())
        assert flat.startswith(shown), shown
        assert len(shown) == len(flat.rstrip(".")) or flat[len(shown)] in " .,;:!?", shown[-20:]

    # Substance use described in the text is a problem to work on.
    problems = text(section(html, "problems"))
    if case.substance:
        assert re.search(r"substance", problems, re.I), problems
    else:
        assert not re.search(r"substance", problems, re.I)


def test_the_rubric_covers_every_option_combination() -> None:
    assert len(COMBINATIONS) == 27 and len(CASES) >= 6
