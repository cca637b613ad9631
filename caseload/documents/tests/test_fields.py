"""Field specs, the builder's question form, and the form a client fills in (server validation)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from caseload.documents.fields import (
    LONG_TEXT_MAX,
    SHORT_TEXT_MAX,
    AnswerForm,
    clean_field_specs,
    display_answer,
)
from caseload.documents.forms import FieldSpecForm, SignatureForm, initial_from_specs

TWO_OPTIONS = [{"value": "a", "label": "Apple"}, {"value": "b", "label": "Banana"}]


def _error(specs):
    with pytest.raises(ValidationError) as raised:
        clean_field_specs(specs)
    return raised.value.messages


# clean_field_specs ---------------------------------------------------------------------------
def test_defaults_keys_required_and_help():
    specs = clean_field_specs(
        [
            {"label": "  Name  "},
            {"type": "long_text", "label": "Story", "required": False, "help": " Take time "},
        ]
    )

    assert specs == [
        {"key": "f1", "type": "short_text", "label": "Name", "help": "", "required": True},
        {
            "key": "f2",
            "type": "long_text",
            "label": "Story",
            "help": "Take time",
            "required": False,
        },
    ]


def test_a_signature_is_always_required():
    (spec,) = clean_field_specs([{"type": "signature", "label": "Sign", "required": False}])

    assert spec["required"] is True


def test_choices_scale_and_number_keep_their_settings():
    specs = clean_field_specs(
        [
            {"type": "single_choice", "label": "Fruit", "options": TWO_OPTIONS},
            {"type": "scale", "label": "Pain", "min": 0, "max": 10, "max_label": "Worst"},
            {"type": "number", "label": "Hours", "min": 0, "max": 24},
        ]
    )

    assert specs[0]["options"] == TWO_OPTIONS
    assert (specs[1]["min"], specs[1]["max"], specs[1]["max_label"]) == (0, 10, "Worst")
    assert (specs[2]["min"], specs[2]["max"]) == (0, 24)


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([], "Add at least one field."),
        (
            [
                {"label": "Ok"},
                {"type": "single_choice", "label": "Pick", "options": TWO_OPTIONS[:1]},
            ],
            "Field 2: a choice needs at least two options.",
        ),
        (
            [{"type": "multiple_choice", "label": "Pick", "options": []}],
            "Field 1: a choice needs at least two options.",
        ),
        (
            [
                {
                    "type": "single_choice",
                    "label": "Pick",
                    "options": [{"value": "a", "label": "Same"}, {"value": "b", "label": "Same"}],
                }
            ],
            "Field 1: each option must be different.",
        ),
        (
            [
                {
                    "type": "single_choice",
                    "label": "Pick",
                    "options": [{"value": "a", "label": "One"}, {"value": "a", "label": "Two"}],
                }
            ],
            "Field 1: each option must be different.",
        ),
        (
            [{"label": "Ok"}, {"label": "Ok"}, {"type": "scale", "label": "S", "min": 5, "max": 5}],
            "Field 3: a scale runs between 0 and 10, lowest first.",
        ),
        (
            [{"type": "scale", "label": "S", "min": 7, "max": 3}],
            "Field 1: a scale runs between 0 and 10, lowest first.",
        ),
        (
            [{"type": "scale", "label": "S", "min": 0, "max": 11}],
            "Field 1: a scale runs between 0 and 10, lowest first.",
        ),
        (
            [{"type": "scale", "label": "S", "min": -1, "max": 4}],
            "Field 1: a scale runs between 0 and 10, lowest first.",
        ),
        (
            [{"type": "scale", "label": "S", "min": 1.5, "max": 4}],
            "Field 1: a scale needs whole-number ends.",
        ),
        (
            [{"label": "Ok"}, {"type": "number", "label": "N", "min": 10, "max": 2}],
            "Field 2: the minimum is larger than the maximum.",
        ),
        ([{"label": "Ok"}, {"label": "   "}], "Field 2: give the field a label."),
        ([{"label": "x" * 501}], "Field 1: the label is too long (500 characters at most)."),
        (
            [{"type": "signature", "label": "A"}, {"type": "signature", "label": "B"}],
            "A document has one signature at most.",
        ),
        ([{"label": "Ok"}, {"type": "file", "label": "Upload"}], "Field 2: unknown field type"),
        (
            [{"key": "name", "label": "A"}, {"key": "name", "label": "B"}],
            "Field 2: the key 'name' is not valid or is used twice.",
        ),
        ([{"key": "Bad-Key", "label": "A"}], "Field 1: the key 'Bad-Key' is not valid"),
    ],
)
def test_clean_field_specs_names_the_bad_field(specs, message):
    (shown,) = _error(specs)

    assert shown.startswith(message)


def test_a_number_field_with_equal_ends_is_fine():
    (spec,) = clean_field_specs([{"type": "number", "label": "N", "min": 3, "max": 3}])

    assert (spec["min"], spec["max"]) == (3, 3)


# The builder's question form -------------------------------------------------------------------
def _question(**data):
    form = FieldSpecForm(data={"label": "Question", "type": "short_text", **data})
    form.is_valid()
    return form


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"type": "single_choice", "options": "Only one"}, "options", "Give at least two options"),
        ({"type": "multiple_choice", "options": "\n  \n"}, "options", "Give at least two options"),
        (
            {"type": "single_choice", "options": "Yes\nNo\n Yes "},
            "options",
            "Each option must be different.",
        ),
        (
            {"type": "single_choice", "options": "Short\n" + "x" * 201},
            "options",
            "Keep each option to 200 characters.",
        ),
        ({"type": "scale", "min": "5", "max": "5"}, "min", "A scale runs from 0 to 10"),
        ({"type": "scale", "min": "6", "max": "2"}, "min", "A scale runs from 0 to 10"),
        ({"type": "scale", "min": "0", "max": "12"}, "min", "A scale runs from 0 to 10"),
        ({"type": "scale", "min": "-2", "max": "3"}, "min", "A scale runs from 0 to 10"),
        ({"type": "scale", "min": "1"}, "min", "Give the lowest and highest points"),
        ({"type": "number", "min": "9", "max": "1"}, "min", "The lowest value is larger"),
        ({"label": ""}, "label", "Write the question, or tick “Remove this question”."),
        ({"type": "file"}, "type", "Select a valid choice."),
    ],
)
def test_question_form_puts_each_error_on_its_field(data, field, message):
    form = _question(**data)

    assert not form.is_valid()
    assert list(form.errors) == [field]
    assert form.errors[field][0].startswith(message)


def test_question_form_builds_a_spec_clean_field_specs_accepts():
    rows = [
        _question(type="single_choice", label="Fruit", options=" Apple \n\nBanana\n"),
        _question(type="scale", label="Pain", min="0", max="10", min_label="None"),
        _question(type="number", label="Hours", min="0", max="24", required="on"),
        _question(type="yes_no", label="Ok?", required="on"),
    ]
    assert all(form.is_valid() for form in rows)

    specs = clean_field_specs([form.spec() for form in rows])

    assert specs[0]["options"] == [
        {"value": "1", "label": "Apple"},
        {"value": "2", "label": "Banana"},
    ]
    assert specs[0]["required"] is False  # the box was not ticked
    assert (specs[1]["min"], specs[1]["max"], specs[1]["min_label"]) == (0, 10, "None")
    assert (specs[2]["min"], specs[2]["max"], specs[2]["required"]) == (0, 24, True)
    assert [spec["key"] for spec in specs] == ["f1", "f2", "f3", "f4"]


def test_initial_rows_round_trip_a_version():
    specs = clean_field_specs(
        [
            {"type": "multiple_choice", "label": "Fruit", "options": TWO_OPTIONS},
            {"type": "scale", "label": "Pain", "min": 2, "max": 6, "min_label": "Low"},
        ]
    )

    rows = initial_from_specs(specs)

    assert rows[0]["options"] == "Apple\nBanana"
    assert (rows[1]["min"], rows[1]["max"], rows[1]["min_label"]) == (2, 6, "Low")
    rebuilt = [FieldSpecForm(data={k: v for k, v in row.items() if v is not None}) for row in rows]
    assert all(form.is_valid() for form in rebuilt), [form.errors for form in rebuilt]


# The client's form ----------------------------------------------------------------------------
SPECS = clean_field_specs(
    [
        {"key": "name", "type": "short_text", "label": "Name"},
        {"key": "story", "type": "long_text", "label": "Story"},
        {"key": "born", "type": "date", "label": "Born"},
        {"key": "hours", "type": "number", "label": "Hours", "min": 0, "max": 24},
        {"key": "pain", "type": "scale", "label": "Pain", "min": 1, "max": 5},
        {"key": "fruit", "type": "single_choice", "label": "Fruit", "options": TWO_OPTIONS},
        {"key": "many", "type": "multiple_choice", "label": "Many", "options": TWO_OPTIONS},
        {"key": "ok", "type": "yes_no", "label": "Ok"},
        {"key": "extra", "type": "short_text", "label": "Extra", "required": False},
        {"key": "sig", "type": "signature", "label": "Sign"},
    ]
)
COMPLETE = {
    "name": "Maya",
    "story": "A long story",
    "born": "1990-04-12",
    "hours": "7.5",
    "pain": "3",
    "fruit": "b",
    "many": ["a", "b"],
    "ok": "yes",
}


def _answers(data, *, final):
    form = AnswerForm(data, specs=SPECS, final=final)
    return form, form.is_valid()


def test_complete_answers_clean_to_json_ready_values():
    form, valid = _answers(COMPLETE, final=True)

    assert valid, form.errors
    assert form.answers() == {
        "name": "Maya",
        "story": "A long story",
        "born": "1990-04-12",
        "hours": "7.5",
        "pain": "3",
        "fruit": "b",
        "many": ["a", "b"],
        "ok": "yes",
    }


def test_the_signature_is_not_a_question():
    form = AnswerForm(specs=SPECS, final=True)

    assert "sig" not in form.fields
    assert [spec["key"] for _, spec in form.questions()][-1] == "extra"


def test_required_answers_are_enforced_only_on_submit():
    saved, saved_valid = _answers({"name": "Maya"}, final=False)
    submitted, submitted_valid = _answers({"name": "Maya"}, final=True)

    assert saved_valid
    assert saved.answers() == {"name": "Maya"}
    assert not submitted_valid
    missing = {"story", "born", "hours", "pain", "fruit", "many", "ok"}
    assert set(submitted.errors) == missing
    assert all(submitted.errors[key] == ["Answer this question."] for key in missing)
    assert "extra" not in submitted.errors  # optional


@pytest.mark.parametrize("final", [False, True])
@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("hours", "25", "Ensure this value is less than or equal to 24."),
        ("hours", "-1", "Ensure this value is greater than or equal to 0."),
        ("hours", "lots", "Enter a number."),
        ("pain", "6", "Select a valid choice. 6 is not one of the available choices."),
        ("pain", "0", "Select a valid choice. 0 is not one of the available choices."),
        ("fruit", "cherry", "Select a valid choice. cherry is not one of the available choices."),
        ("many", ["a", "z"], "Select a valid choice. z is not one of the available choices."),
        ("ok", "maybe", "Select a valid choice. maybe is not one of the available choices."),
        ("born", "31/31/1990", "Enter a valid date."),
        ("name", "x" * (SHORT_TEXT_MAX + 1), "Ensure this value has at most 300 characters"),
        ("story", "x" * (LONG_TEXT_MAX + 1), "Ensure this value has at most 5000 characters"),
    ],
)
def test_types_ranges_options_and_lengths_are_checked_when_saving_and_submitting(
    final, key, value, message
):
    form, valid = _answers({**COMPLETE, key: value}, final=final)

    assert not valid
    assert list(form.errors) == [key]
    assert form.errors[key][0].startswith(message)


def test_limits_themselves_are_accepted():
    form, valid = _answers(
        {**COMPLETE, "hours": "24", "pain": "5", "story": "x" * LONG_TEXT_MAX}, final=True
    )

    assert valid, form.errors
    assert form.answers()["hours"] == "24"


def test_a_number_without_limits_is_still_bounded():
    specs = clean_field_specs([{"key": "n", "type": "number", "label": "N"}])

    assert AnswerForm({"n": "999999"}, specs=specs, final=True).is_valid()
    assert not AnswerForm({"n": "1000001"}, specs=specs, final=True).is_valid()


def test_answers_not_in_the_form_are_ignored():
    form, valid = _answers({**COMPLETE, "score": "0", "sig": "Forged"}, final=True)

    assert valid
    assert "score" not in form.answers()
    assert "sig" not in form.answers()


def test_signature_form_needs_a_name_and_the_box():
    empty = SignatureForm(data={})
    named = SignatureForm(data={"typed_name": "Maya Patel"})
    complete = SignatureForm(data={"typed_name": "Maya Patel", "consent": "on"})

    assert empty.errors == {
        "typed_name": ["Type your full name to sign."],
        "consent": ["Tick the box to agree to sign electronically."],
    }
    assert named.errors == {"consent": ["Tick the box to agree to sign electronically."]}
    assert complete.is_valid()


# Showing answers ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("fruit", "b", "Banana"),
        ("many", ["a", "b"], "Apple, Banana"),
        ("ok", "no", "No"),
        ("pain", "3", "3 (of 1–5)"),
        ("born", "1990-04-12", "12 Apr 1990"),
        ("born", "not a date", "not a date"),
        ("hours", "7.5", "7.5"),
        ("name", "", "—"),
        ("many", [], "—"),
        ("name", None, "—"),
    ],
)
def test_display_answer_shows_what_the_person_chose(key, value, shown):
    spec = next(spec for spec in SPECS if spec["key"] == key)

    assert display_answer(spec, value) == shown
