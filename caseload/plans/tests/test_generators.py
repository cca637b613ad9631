"""The knowledge-base generator's options (TP-2), determinism and output, and get_generator (TP-3).

The generator is pure: these tests need no database. Each option test compares two plans built
from the same input and shows the difference the option is meant to make.
"""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest

from caseload.plans.generators import (
    ALLOWED_TAGS,
    FORMATS,
    LENGTHS,
    TONES,
    KnowledgeBaseGenerator,
    OpenAICompatibleGenerator,
    PlanInput,
    PlanOptions,
    get_generator,
)
from caseload.plans.generators.knowledge import load_knowledge

START = date(2026, 11, 13)


def plan_input(**overrides: object) -> PlanInput:
    values: dict[str, object] = {
        "age_band": "30-39",
        "is_child": False,
        "diagnoses": [("F33.1", "Major depressive disorder, recurrent, moderate")],
        "presenting_concerns": "Low mood since losing a job in the spring; stopped seeing friends.",
        "history": "One earlier depressive episode at 24, treated with CBT.",
        "medications": ["Sertraline 50 mg, once daily"],
        "recent_notes": ["Assessment: Mood slightly better.\nPlan: Continue activity scheduling."],
        "start_date": START,
    }
    values.update(overrides)
    return PlanInput(**values)  # type: ignore[arg-type]


def generate(
    length: str = "medium",
    tone: str = "professional",
    layout: str = "structured",
    **overrides: object,
) -> str:
    return KnowledgeBaseGenerator().generate(
        plan_input(**overrides), PlanOptions(length=length, tone=tone, format=layout)
    )


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs


def tags_of(html: str) -> list[str]:
    collector = TagCollector()
    collector.feed(html)
    return collector.tags


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def sections(html: str) -> dict[str, str]:
    """Heading text → the HTML up to the next heading."""
    parts = re.split(r"<h3>(.*?)</h3>", html)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def section(html: str, word: str) -> str:
    """The section whose heading contains `word` (case-insensitive)."""
    matches = [body for heading, body in sections(html).items() if word.lower() in heading.lower()]
    assert len(matches) == 1, f"no single section for {word!r} in {list(sections(html))}"
    return matches[0]


SECTION_WORDS = (
    "context",
    "problem",
    "long-term goals",
    "short-term objectives",
    "interventions",
    "frequency",
    "discharge",
)


# Structure ---------------------------------------------------------------------------------
@pytest.mark.parametrize("length", [value for value, _ in LENGTHS])
@pytest.mark.parametrize("tone", [value for value, _ in TONES])
@pytest.mark.parametrize("layout", [value for value, _ in FORMATS])
def test_every_combination_has_the_clinical_structure_and_only_allowed_tags(
    length: str, tone: str, layout: str
) -> None:
    html = generate(length, tone, layout)

    headings = list(sections(html))
    assert len(headings) == len(SECTION_WORDS)
    for heading, word in zip(headings, SECTION_WORDS, strict=True):
        assert word in heading.lower()
    collector = TagCollector()
    collector.feed(html)
    assert set(collector.tags) <= set(ALLOWED_TAGS)
    assert collector.attributes == []
    assert collector.tags[0] == "h2"
    for body in sections(html).values():
        assert text_of(body), "an empty section"


def test_objectives_are_measurable_with_target_dates_counted_from_the_start_date() -> None:
    html = generate("long")
    objectives = re.findall(r"<li>(.*?)</li>", section(html, "objectives"))

    assert len(objectives) >= 5
    for objective in objectives:
        assert re.search(r"as shown by .+, by \d{1,2} [A-Z][a-z]+ 20\d\d\.", objective), objective
    # The PHQ-9 objective is 12 weeks out in depression.toml: 13 November 2026 + 12 weeks.
    phq9 = next(objective for objective in objectives if "PHQ-9 score below 10" in objective)
    assert "by 5 February 2027" in phq9
    # Ordered by target date.
    due = [re.search(r"by (\d{1,2} [A-Z][a-z]+ \d{4})\.", o).group(1) for o in objectives]  # type: ignore[union-attr]
    parsed = [_parse_date(value) for value in due]
    assert parsed == sorted(parsed)


def _parse_date(value: str) -> date:
    from datetime import datetime

    return datetime.strptime(value, "%d %B %Y").date()


def test_the_plan_draws_on_the_clinical_record() -> None:
    html = generate("long")
    context = text_of(section(html, "context"))

    assert "13 November 2026" in context
    assert "age band 30-39" in context
    assert "F33.1 Major depressive disorder, recurrent, moderate" in context
    assert "stopped seeing friends" in context
    assert "treated with CBT" in context
    assert "Sertraline 50 mg, once daily" in context
    assert "Continue activity scheduling" in context
    # The medication also brings in coordination with the prescriber.
    assert "Care coordination with the prescriber" in section(html, "interventions")
    assert "Sertraline" in text_of(section(html, "interventions"))


def test_without_medication_there_is_no_prescriber_coordination() -> None:
    html = generate("long", medications=[])

    assert "prescriber" not in html
    assert "none recorded" in text_of(section(html, "context"))


def test_free_text_is_escaped_not_interpreted() -> None:
    html = generate(
        presenting_concerns='Says <script>alert(1)</script> & <a href="javascript:x">here</a>',
        recent_notes=["Plan: <img src=x onerror=alert(1)>"],
        medications=["<b>Bold</b> 5 mg"],
        length="long",
    )

    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in html
    assert set(tags_of(html)) <= set(ALLOWED_TAGS)


def test_the_same_input_and_options_give_identical_html() -> None:
    options = PlanOptions(length="long", tone="conversational", format="narrative")
    first = KnowledgeBaseGenerator().generate(plan_input(), options)
    # A fresh generator over a freshly loaded knowledge base: no hidden state or ordering.
    second = KnowledgeBaseGenerator(load_knowledge()).generate(
        plan_input(), PlanOptions(length="long", tone="conversational", format="narrative")
    )

    assert first == second


def test_different_input_gives_a_different_plan() -> None:
    assert generate() != generate(diagnoses=[("F42.2", "Mixed obsessional thoughts and acts")])


# Length ------------------------------------------------------------------------------------
def test_length_changes_the_number_of_items_and_long_adds_rationales() -> None:
    short, medium, long = (generate(length) for length in ("short", "medium", "long"))

    def count(html: str, word: str) -> int:
        return section(html, word).count("<li>")

    for word in ("problem", "goals", "objectives", "interventions", "discharge"):
        assert count(short, word) <= count(medium, word) <= count(long, word), word
    assert short.count("<li>") < medium.count("<li>") < long.count("<li>")
    assert count(short, "objectives") == 3
    assert count(long, "objectives") >= 6
    assert "Rationale:" in long
    assert "Rationale:" not in short and "Rationale:" not in medium
    # Short keeps the context brief: no history and no session notes.
    assert "treated with CBT" not in short and "activity scheduling" not in text_of(
        section(short, "context")
    )
    assert len(text_of(long)) > 1.5 * len(text_of(short))


# Tone --------------------------------------------------------------------------------------
def test_conversational_tone_speaks_to_the_client() -> None:
    professional = generate(tone="professional")
    conversational = generate(tone="conversational")

    assert "You will" in conversational
    assert "The client will" not in conversational
    assert "your usual" in conversational or "you " in text_of(conversational)
    assert "The client will" in professional
    assert "You will" not in professional
    assert "Your treatment plan" in conversational


def test_clinical_tone_is_terse_and_uses_clinical_terms() -> None:
    professional = generate(tone="professional")
    clinical = generate(tone="clinical")

    assert "The client will" not in clinical and "You will" not in clinical
    assert "<strong>Dx:</strong>" in clinical
    assert "Depressed mood; anhedonia (F33.1)" in clinical
    assert "sx" in text_of(clinical).split() or " sx" in text_of(clinical)
    assert "<strong>BA</strong>" in clinical
    assert len(text_of(clinical)) < len(text_of(professional))


def test_tones_use_second_person_placeholders_consistently() -> None:
    conversational = text_of(generate("long", tone="conversational"))
    professional = text_of(generate("long", tone="professional"))

    assert "{" not in conversational and "{" not in professional
    assert "finish when you have returned to your usual routines" in conversational
    assert "The client has returned to their usual routines" in professional
    assert " you has " not in conversational and " you is " not in conversational


# Format ------------------------------------------------------------------------------------
def test_structured_format_has_headings_paragraphs_and_lists() -> None:
    html = generate(layout="structured")
    tags = tags_of(html)

    assert "p" in tags and "ul" in tags and "ol" in tags
    assert "<ol>" in section(html, "objectives")
    assert "<p>" in section(html, "context")


def test_narrative_format_is_paragraphs_without_lists() -> None:
    html = generate(layout="narrative")
    tags = set(tags_of(html))

    assert not tags & {"ul", "ol", "li"}
    for body in sections(html).values():
        assert body.strip().startswith("<p>")
    assert "This plan addresses" in html
    assert "will be used to" in html


def test_bullet_points_format_is_bulleted_lists_only() -> None:
    html = generate(layout="bullet_points")
    tags = tags_of(html)

    assert "p" not in tags and "ol" not in tags
    for body in sections(html).values():
        assert body.strip().startswith("<ul>")
    assert tags.count("ul") == tags.count("h3")


# Options ------------------------------------------------------------------------------------
def test_option_labels_match_the_spec() -> None:
    assert [label for _, label in LENGTHS] == ["Short", "Medium", "Long"]
    assert [label for _, label in TONES] == ["Professional", "Conversational", "Clinical"]
    assert [label for _, label in FORMATS] == ["Structured", "Narrative", "Bullet Points"]
    assert PlanOptions("long", "clinical", "bullet_points").describe() == (
        "Long · Clinical · Bullet Points"
    )


@pytest.mark.parametrize(
    "values",
    [
        {"length": "huge"},
        {"tone": "friendly"},
        {"format": "table"},
    ],
)
def test_unknown_options_are_refused(values: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        PlanOptions(**values)


def test_plan_input_round_trips_through_json_types() -> None:
    original = plan_input(diagnoses=[("F33.1", "Major"), ("F41.1", "GAD")])
    data = original.to_dict()

    import json

    assert PlanInput.from_dict(json.loads(json.dumps(data))) == original


# get_generator ------------------------------------------------------------------------------
@pytest.fixture
def no_ai_env(settings: Any) -> None:
    for name in ("PLAN_AI_BASE_URL", "PLAN_AI_MODEL", "PLAN_AI_API_KEY"):
        setattr(settings, name, "")


def test_get_generator_is_offline_by_default(no_ai_env: None) -> None:
    generator = get_generator()

    assert isinstance(generator, KnowledgeBaseGenerator)
    assert generator.name == "knowledge_base"


def test_get_generator_uses_the_ai_service_when_the_settings_name_one(
    no_ai_env: None, settings: Any
) -> None:
    settings.PLAN_AI_BASE_URL = "http://127.0.0.1:11434/v1/"
    settings.PLAN_AI_MODEL = "llama3.1"
    settings.PLAN_AI_API_KEY = "sk-local"
    settings.PLAN_AI_TIMEOUT = "12.5"

    generator = get_generator()

    assert isinstance(generator, OpenAICompatibleGenerator)
    assert generator.name == "openai_compatible"
    assert generator.endpoint == "http://127.0.0.1:11434/v1/chat/completions"
    assert (generator.model, generator.api_key, generator.timeout) == ("llama3.1", "sk-local", 12.5)


def test_an_unreadable_timeout_falls_back_to_30_seconds(no_ai_env: None, settings: Any) -> None:
    settings.PLAN_AI_BASE_URL = "https://ai.example.org/v1"
    settings.PLAN_AI_MODEL = "gpt-4o-mini"
    settings.PLAN_AI_TIMEOUT = "not a number"

    generator = get_generator()

    assert isinstance(generator, OpenAICompatibleGenerator)
    assert generator.base_url == "https://ai.example.org/v1"
    assert generator.model == "gpt-4o-mini"
    assert generator.timeout == 30.0


def test_an_empty_setting_falls_back_to_offline(no_ai_env: None, settings: object) -> None:
    settings.PLAN_AI_BASE_URL = ""  # type: ignore[attr-defined]

    assert isinstance(get_generator(), KnowledgeBaseGenerator)
