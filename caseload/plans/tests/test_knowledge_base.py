"""The clinical knowledge base (TP-3): its data files, and a plan per diagnosis family."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from caseload.plans.generators import KnowledgeBaseGenerator, PlanInput, PlanOptions
from caseload.plans.generators.knowledge import (
    KNOWLEDGE_DIR,
    KnowledgeBaseError,
    default_knowledge,
    load_knowledge,
)

START = date(2026, 11, 13)
REQUIRED_FAMILIES = {
    "depression": ["F32.1", "F33.1", "F34.1"],
    "anxiety": ["F41.1", "F41.0", "F40.10"],
    "trauma": ["F43.10", "F43.12", "F43.0"],
    "adjustment": ["F43.21", "F43.23"],
    "adhd": ["F90.0", "F90.2"],
    "substance_use": ["F10.20", "F11.20", "F12.10", "F14.20", "F19.20"],
    "bipolar": ["F31.81", "F31.30"],
    "ocd": ["F42.2"],
    "eating_disorders": ["F50.00", "F50.2", "F50.81"],
    "insomnia": ["F51.01", "G47.00"],
    "relational": ["Z63.0", "Z62.820"],
}


def plan_for(
    *diagnoses: tuple[str, str],
    is_child: bool = False,
    options: PlanOptions | None = None,
    medications: list[str] | None = None,
) -> str:
    plan_input = PlanInput(
        age_band="6-12" if is_child else "30-39",
        is_child=is_child,
        diagnoses=list(diagnoses),
        presenting_concerns="",
        history="",
        medications=medications or [],
        recent_notes=[],
        start_date=START,
    )
    return KnowledgeBaseGenerator().generate(
        plan_input,
        options or PlanOptions(length="medium", tone="professional", format="structured"),
    )


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def section(html: str, word: str) -> str:
    parts = re.split(r"<h3>(.*?)</h3>", html)
    bodies = [parts[i + 1] for i in range(1, len(parts), 2) if word.lower() in parts[i].lower()]
    assert len(bodies) == 1
    return bodies[0]


HEADINGS = [
    "Clinical context",
    "Problems",
    "Long-term goals",
    "Short-term objectives",
    "Interventions",
    "Session frequency",
    "Discharge criteria",
]


# The data files ---------------------------------------------------------------------------
def test_every_required_family_is_a_data_file() -> None:
    knowledge = load_knowledge()
    files = {path.stem for path in KNOWLEDGE_DIR.glob("*.toml")}

    assert {family.key for family in knowledge.families} == set(REQUIRED_FAMILIES)
    assert files == {*REQUIRED_FAMILIES, "general"}
    assert knowledge.general.key == "general"


@pytest.mark.parametrize(
    ("family", "code"),
    [(family, code) for family, codes in REQUIRED_FAMILIES.items() for code in codes],
)
def test_codes_map_to_their_family(family: str, code: str) -> None:
    found = default_knowledge().family_for(code)

    assert found is not None and found.key == family


@pytest.mark.parametrize("code", ["F60.3", "F84.0", "F20.9", "Z00.00", "", "f33"])
def test_other_codes_have_no_family(code: str) -> None:
    found = default_knowledge().family_for(code)

    assert found is None or (code == "f33" and found.key == "depression")


def test_adjacent_codes_are_told_apart() -> None:
    knowledge = default_knowledge()

    assert knowledge.family_for("F43.21").key == "adjustment"  # type: ignore[union-attr]
    assert knowledge.family_for("F43.10").key == "trauma"  # type: ignore[union-attr]
    assert knowledge.family_for("F34.1").key == "depression"  # type: ignore[union-attr]
    assert knowledge.family_for("F34.0").key == "bipolar"  # type: ignore[union-attr]
    assert knowledge.family_for("F51.01").key == "insomnia"  # type: ignore[union-attr]
    assert knowledge.family_for("F51.5") is None  # nightmare disorder: not insomnia


def test_every_family_is_complete_enough_for_a_long_plan() -> None:
    for family in (*default_knowledge().families, default_knowledge().general):
        for adult in (True, False):
            audience = {"any", "adult" if adult else "child"}
            visible = {
                name: [item for item in getattr(family, name) if item.audience in audience]
                for name in ("problems", "goals", "objectives", "interventions", "discharge")
            }
            assert len(visible["problems"]) >= 3, family.key
            assert len(visible["goals"]) >= 2, family.key
            assert len(visible["objectives"]) >= 4, family.key
            assert len(visible["interventions"]) >= 4, family.key
            assert len(visible["discharge"]) >= 3, family.key
        for objective in family.objectives:
            assert objective.measure and 1 <= objective.weeks <= 52
        assert family.frequency.text.endswith(".")


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target)
    return target


def test_a_file_with_a_missing_field_is_refused(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    path = directory / "ocd.toml"
    path.write_text(path.read_text().replace('measure = "a Y-BOCS score below 16"\n', ""))

    with pytest.raises(KnowledgeBaseError, match=r"ocd.toml objectives\[6\]: missing measure"):
        load_knowledge(directory)


def test_an_unknown_field_or_placeholder_is_refused(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    path = directory / "insomnia.toml"
    original = path.read_text()
    path.write_text(original.replace("weeks = 2\n", "weeks = 2\nweek = 2\n", 1))
    with pytest.raises(KnowledgeBaseError, match="unknown week"):
        load_knowledge(directory)

    path.write_text(original.replace("{client}", "{patient}", 1))
    with pytest.raises(KnowledgeBaseError, match=r"unknown placeholder \{patient\}"):
        load_knowledge(directory)


def test_a_code_prefix_in_two_families_is_refused(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    path = directory / "adjustment.toml"
    path.write_text(path.read_text().replace('codes = ["F43.2"]', 'codes = ["F43.2", "F42"]'))

    with pytest.raises(KnowledgeBaseError, match="F42 is in both"):
        load_knowledge(directory)


def test_the_general_fallback_is_required(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    (directory / "general.toml").unlink()

    with pytest.raises(KnowledgeBaseError, match=r"general\.toml"):
        load_knowledge(directory)


def test_a_new_family_is_a_new_file_not_code(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    text = (directory / "general.toml").read_text().split("# Added to every plan")[0]
    text = text.replace('family = "general"', 'family = "personality"').replace(
        "codes = []", 'codes = ["F60.3"]'
    )
    text = text.replace('name = "Psychoeducation"', 'name = "Dialectical behaviour therapy (DBT)"')
    (directory / "personality.toml").write_text(text)

    html = KnowledgeBaseGenerator(load_knowledge(directory)).generate(
        PlanInput(None, False, [("F60.3", "Borderline")], "", "", [], [], START),
        PlanOptions("medium", "professional", "structured"),
    )

    assert "Dialectical behaviour therapy (DBT)" in html


# A plan per family ------------------------------------------------------------------------
def test_recurrent_depression_uses_behavioural_activation() -> None:
    html = plan_for(("F33.1", "Major depressive disorder, recurrent, moderate"))

    interventions = text_of(section(html, "Interventions"))
    assert "Behavioural activation" in interventions
    assert "PHQ-9" in html
    assert "Persistent low mood" in section(html, "Problems")


def test_ocd_uses_exposure_and_response_prevention() -> None:
    html = plan_for(("F42.2", "Mixed obsessional thoughts and acts"))

    assert "Exposure and response prevention (ERP)" in section(html, "Interventions")
    assert "Y-BOCS" in section(html, "objectives")


def test_ptsd_uses_trauma_focused_therapy() -> None:
    html = plan_for(("F43.10", "Post-traumatic stress disorder, unspecified"))

    interventions = text_of(section(html, "Interventions"))
    assert "Cognitive processing therapy (CPT)" in interventions
    assert "trauma-focused" in interventions
    assert "PCL-5" in html


def test_a_traumatised_child_gets_tf_cbt_not_adult_protocols() -> None:
    html = plan_for(("F43.10", "Post-traumatic stress disorder, unspecified"), is_child=True)

    interventions = section(html, "Interventions")
    assert "Trauma-focused cognitive behavioural therapy (TF-CBT)" in interventions
    assert "Cognitive processing therapy" not in html
    assert "Prolonged exposure" not in html


def test_adhd_gets_adhd_specific_work_for_adults_and_for_children() -> None:
    adult = plan_for(("F90.2", "Attention-deficit hyperactivity disorder, combined type"))
    child = plan_for(
        ("F90.2", "Attention-deficit hyperactivity disorder, combined type"), is_child=True
    )

    assert "Psychoeducation about ADHD" in section(adult, "Interventions")
    assert "Cognitive behavioural therapy for adult ADHD" in section(adult, "Interventions")
    assert "planner" in section(adult, "objectives")
    assert "Behavioural parent training" in section(child, "Interventions")
    assert "School liaison" in section(child, "Interventions")
    assert "parent training" not in adult and "adult ADHD" not in child


def test_alcohol_dependence_uses_motivational_interviewing() -> None:
    html = plan_for(("F10.20", "Alcohol dependence, uncomplicated"))

    interventions = text_of(section(html, "Interventions"))
    assert "Motivational interviewing (MI)" in interventions
    assert "substance use" in text_of(html).lower()
    assert "relapse-prevention plan" in text_of(section(html, "objectives"))


def test_insomnia_uses_cbt_i() -> None:
    html = plan_for(("F51.01", "Primary insomnia"))

    assert "Cognitive behavioural therapy for insomnia (CBT-I)" in section(html, "Interventions")
    assert "sleep diary" in section(html, "objectives")


@pytest.mark.parametrize(
    ("code", "description", "expected"),
    [
        ("F41.1", "Generalized anxiety disorder", "Graded exposure"),
        ("F43.21", "Adjustment disorder with depressed mood", "Problem-solving therapy (PST)"),
        ("F31.81", "Bipolar II disorder", "Interpersonal and social rhythm therapy (IPSRT)"),
        ("F50.2", "Bulimia nervosa", "Enhanced cognitive behavioural therapy (CBT-E)"),
        ("Z63.0", "Problems in relationship with spouse or partner", "Family or couple therapy"),
    ],
)
def test_other_families_use_their_evidence_based_interventions(
    code: str, description: str, expected: str
) -> None:
    html = plan_for((code, description), options=PlanOptions("long", "professional", "structured"))

    assert expected in section(html, "Interventions")


def test_an_unknown_code_falls_back_to_the_general_plan_with_every_section() -> None:
    html = plan_for(("F60.3", "Borderline personality disorder"))

    assert re.findall(r"<h3>(.*?)</h3>", html) == HEADINGS
    assert "Symptoms of Borderline personality disorder" in section(html, "Problems")
    for heading in HEADINGS:
        assert text_of(section(html, heading))


def test_a_record_without_diagnoses_still_gets_a_complete_plan() -> None:
    html = plan_for()

    assert re.findall(r"<h3>(.*?)</h3>", html) == HEADINGS
    assert "no active diagnosis recorded" in section(html, "context")


def test_diagnoses_are_combined_primary_first_without_duplicates() -> None:
    html = plan_for(
        ("F33.1", "Major depressive disorder, recurrent, moderate"),
        ("F41.1", "Generalized anxiety disorder"),
        ("F51.01", "Primary insomnia"),
        options=PlanOptions("long", "professional", "structured"),
    )
    problems = re.findall(r"<li>(.*?)</li>", section(html, "Problems"))
    interventions = re.findall(r"<strong>(.*?)</strong>", section(html, "Interventions"))

    # Each diagnosis contributes, the primary's first.
    assert problems[0].startswith("Persistent low mood")
    assert problems[1].startswith("Excessive, hard-to-control worry")
    assert problems[2].startswith("Difficulty falling asleep")
    assert interventions[:3] == [
        "Behavioural activation",
        "Cognitive behavioural therapy (CBT)",
        "Cognitive behavioural therapy for insomnia (CBT-I)",
    ]
    assert len(interventions) == len(set(interventions))
    # The primary diagnosis sets the frequency; the others are named for review.
    frequency = text_of(section(html, "frequency"))
    assert frequency.startswith("Weekly individual sessions of 50 minutes for 12 to 16 weeks")
    assert "anxiety disorders and insomnia" in frequency


def test_a_child_plan_involves_the_family() -> None:
    html = plan_for(("F41.1", "Generalized anxiety disorder"), is_child=True)

    assert "Family involvement" in section(html, "Interventions")
    assert "parent or caregiver" in text_of(section(html, "frequency"))
    assert "Child or adolescent, age band 6-12" in text_of(section(html, "context"))
    assert "Caregivers feel confident" in section(html, "Discharge")


def test_medication_coordination_appears_once_even_when_the_family_has_it() -> None:
    html = plan_for(
        ("F31.81", "Bipolar II disorder"),
        medications=["Lithium 600 mg, twice daily"],
        options=PlanOptions("long", "professional", "structured"),
    )

    assert section(html, "Interventions").count("Care coordination with the prescriber") == 1
    assert "Lithium 600 mg" in section(html, "context")


def test_every_objective_is_measured_by_a_threshold_or_a_count() -> None:
    knowledge = default_knowledge()
    objectives = [
        o for family in (*knowledge.families, knowledge.general) for o in family.objectives
    ]
    for addition in (knowledge.child, knowledge.medication, knowledge.risk):
        objectives += addition.objectives
    unmeasured = [o.measure for o in objectives if not re.search(r"\d", o.measure)]
    assert unmeasured == []
    assert knowledge.risk.objectives and knowledge.risk.interventions


def test_protocol_bound_items_name_a_trauma_focused_protocol() -> None:
    knowledge = default_knowledge()
    protocols = {
        item.protocol
        for family in knowledge.families
        for item in (*family.objectives, *family.interventions)
        if item.protocol
    }
    assert protocols == {"CPT", "PE", "EMDR", "TF-CBT"}
