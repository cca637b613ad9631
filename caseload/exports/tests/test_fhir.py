"""The FHIR R4 bundle of one client's record: every resource type, valid, correctly coded."""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from caseload.exports.fhir import ICD10CM, build_bundle
from caseload.exports.selectors import record_data
from caseload.exports.tests.records import ADDENDUM_TEXT, SIGNED_NOTE_TEXT
from tests.factories import active_child_relationship


def resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == resource_type
    ]


def test_bundle_has_every_resource_type_and_validates_as_r4(full_record: Any) -> None:
    bundle = build_bundle(record_data(full_record))

    Bundle.model_validate(bundle)  # raises on anything FHIR R4 doesn't allow
    counts = Counter(entry["resource"]["resourceType"] for entry in bundle["entry"])
    assert counts == {
        "Patient": 1,
        "RelatedPerson": 1,  # the emergency contact (an adult has no guardian)
        "Condition": 2,
        "MedicationStatement": 1,
        "Encounter": 1,
        "Observation": 3,  # mood, PHQ-9 total, GAD-7 total
        "DocumentReference": 3,  # the signed note and the plan's two versions
        "CarePlan": 1,
        "QuestionnaireResponse": 3,
        "Communication": 2,
    }
    assert bundle["type"] == "collection"
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    assert len(full_urls) == len(bundle["entry"])


def test_every_reference_points_into_the_bundle(full_record: Any) -> None:
    bundle = build_bundle(record_data(full_record))
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}

    def references(value: Any) -> list[str]:
        if isinstance(value, dict):
            found = [value["reference"]] if "reference" in value else []
            return found + [ref for item in value.values() for ref in references(item)]
        if isinstance(value, list):
            return [ref for item in value for ref in references(item)]
        return []

    found = references(bundle["entry"])
    assert found
    assert set(found) <= full_urls


def test_diagnoses_use_the_icd10cm_system_and_scores_their_loinc_codes(full_record: Any) -> None:
    bundle = build_bundle(record_data(full_record))

    codings = [c["code"]["coding"][0] for c in resources(bundle, "Condition")]
    assert {(coding["system"], coding["code"]) for coding in codings} == {
        (ICD10CM, "F41.1"),
        (ICD10CM, "F33.1"),
    }
    assert ICD10CM == "http://hl7.org/fhir/sid/icd-10-cm"
    scores = {
        o["code"]["coding"][0]["code"]: o["valueQuantity"]["value"]
        for o in resources(bundle, "Observation")
        if "coding" in o["code"]
    }
    assert scores == {"44261-6": 12, "69737-5": 9}
    (mood,) = [o for o in resources(bundle, "Observation") if "valueInteger" in o]
    assert mood["valueInteger"] == 6


def test_us_core_profiles_where_they_exist(full_record: Any) -> None:
    bundle = build_bundle(record_data(full_record))
    us_core = "http://hl7.org/fhir/us/core/StructureDefinition/"
    for entry in bundle["entry"]:
        resource = entry["resource"]
        profiles = resource.get("meta", {}).get("profile", [])
        if resource["resourceType"] in ("MedicationStatement", "Communication"):
            assert profiles == []
        else:
            assert profiles and profiles[0].startswith(us_core), resource["resourceType"]


def test_signed_note_is_a_document_reference_with_its_text_and_addendum(full_record: Any) -> None:
    bundle = build_bundle(record_data(full_record))
    (note,) = [
        d
        for d in resources(bundle, "DocumentReference")
        if d["type"]["coding"][0]["code"] == "11506-3"
    ]
    text = base64.b64decode(note["content"][0]["attachment"]["data"]).decode()
    assert SIGNED_NOTE_TEXT in text
    assert ADDENDUM_TEXT in text
    assert note["docStatus"] == "amended"
    stored = full_record.sessions.get().note.content_sha256
    assert note["extension"][0]["valueString"] == stored


def test_child_record_names_the_guardian_as_related_person(therapist: Any) -> None:
    relationship = active_child_relationship(
        therapist, child_name="Ava Okafor", guardian_name="Sam Okafor", guardian_email="s@x.org"
    )
    bundle = build_bundle(record_data(relationship))

    Bundle.model_validate(bundle)
    (guardian,) = resources(bundle, "RelatedPerson")
    assert guardian["name"][0]["text"] == "Sam Okafor"
    assert guardian["relationship"][0]["coding"][0]["system"].endswith("v3-RoleCode")
