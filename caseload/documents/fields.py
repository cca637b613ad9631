"""The fields a document is made of, and the Django form a client fills in.

A template version stores its fields as a list of plain dicts (JSON): the library's TOML
files, the form builder and the stored versions all go through `clean_field_specs`, so a
version can never hold a field the form below cannot render or validate.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

SHORT_TEXT_MAX = 300
LONG_TEXT_MAX = 5000
SCALE_LIMITS = (0, 10)
NUMBER_LIMIT = 1_000_000
EARLIEST_DATE = date(1900, 1, 1)


class FieldType:
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    YES_NO = "yes_no"
    DATE = "date"
    NUMBER = "number"
    SCALE = "scale"
    SIGNATURE = "signature"

    CHOICES = [
        (SHORT_TEXT, "Short text"),
        (LONG_TEXT, "Long text"),
        (SINGLE_CHOICE, "Single choice"),
        (MULTIPLE_CHOICE, "Multiple choice"),
        (YES_NO, "Yes / no"),
        (DATE, "Date"),
        (NUMBER, "Number"),
        (SCALE, "Scale"),
        (SIGNATURE, "Signature"),
    ]
    WITH_OPTIONS = (SINGLE_CHOICE, MULTIPLE_CHOICE)
    LABELS = dict(CHOICES)


YES_NO_OPTIONS = [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}]
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def crisis_answered(specs: list[dict[str, Any]], answers: dict[str, Any]) -> bool:
    """A safety question (a yes/no field marked `crisis`) was answered "yes"."""
    return any(spec.get("crisis") and answers.get(spec["key"]) == "yes" for spec in specs)


def clean_field_specs(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalise and check a list of field specs; ValidationError names the bad field."""
    cleaned: list[dict[str, Any]] = []
    keys: set[str] = set()
    if not specs:
        raise ValidationError("Add at least one field.")
    for position, raw in enumerate(specs, start=1):
        where = f"Field {position}"
        kind = raw.get("type", FieldType.SHORT_TEXT)
        if kind not in FieldType.LABELS:
            raise ValidationError(f"{where}: unknown field type {kind!r}.")
        key = str(raw.get("key") or f"f{position}")
        if not KEY_PATTERN.match(key) or key in keys:
            raise ValidationError(f"{where}: the key {key!r} is not valid or is used twice.")
        keys.add(key)
        label = str(raw.get("label", "")).strip()
        if not label:
            raise ValidationError(f"{where}: give the field a label.")
        if len(label) > 500:
            raise ValidationError(f"{where}: the label is too long (500 characters at most).")
        spec: dict[str, Any] = {
            "key": key,
            "type": kind,
            "label": label,
            "help": str(raw.get("help", "")).strip()[:500],
            "required": bool(raw.get("required", True)),
        }
        if "scored" in raw:
            spec["scored"] = bool(raw["scored"])
        if raw.get("crisis") and kind == FieldType.YES_NO:
            spec["crisis"] = True  # "yes" asks for the crisis response at once
        if kind in FieldType.WITH_OPTIONS:
            options = raw.get("options") or []
            values = [str(option["value"]) for option in options]
            labels = [str(option["label"]).strip() for option in options]
            if len(options) < 2:
                raise ValidationError(f"{where}: a choice needs at least two options.")
            if len(set(values)) != len(values) or len(set(labels)) != len(labels):
                raise ValidationError(f"{where}: each option must be different.")
            if not all(labels) or any(len(text) > 200 for text in labels):
                raise ValidationError(f"{where}: options need a label of 200 characters at most.")
            spec["options"] = [
                {"value": value, "label": text} for value, text in zip(values, labels, strict=True)
            ]
        if kind == FieldType.SCALE:
            low, high = raw.get("min", 1), raw.get("max", 5)
            if not (isinstance(low, int) and isinstance(high, int)):
                raise ValidationError(f"{where}: a scale needs whole-number ends.")
            if not SCALE_LIMITS[0] <= low < high <= SCALE_LIMITS[1]:
                raise ValidationError(
                    f"{where}: a scale runs between {SCALE_LIMITS[0]} and {SCALE_LIMITS[1]}, "
                    "lowest first."
                )
            spec.update(
                min=low,
                max=high,
                min_label=str(raw.get("min_label", "")).strip()[:100],
                max_label=str(raw.get("max_label", "")).strip()[:100],
            )
        if kind == FieldType.NUMBER:
            low, high = raw.get("min"), raw.get("max")
            for limit in (low, high):
                if limit is not None and (not isinstance(limit, int) or abs(limit) > NUMBER_LIMIT):
                    raise ValidationError(
                        f"{where}: limits are whole numbers between -{NUMBER_LIMIT} and "
                        f"{NUMBER_LIMIT}."
                    )
            if low is not None and high is not None and low > high:
                raise ValidationError(f"{where}: the minimum is larger than the maximum.")
            spec.update(min=low, max=high)
        if kind == FieldType.YES_NO and raw.get("must_be") is not None:
            if raw["must_be"] not in ("yes", "no"):
                raise ValidationError(f'{where}: must_be is "yes" or "no".')
            spec["must_be"] = raw["must_be"]  # an acknowledgement: signing needs this answer
        if kind == FieldType.DATE and raw.get("past"):
            spec["past"] = True  # e.g. a date of birth
        if kind == FieldType.SIGNATURE:
            spec["required"] = True
        cleaned.append(spec)
    if sum(1 for spec in cleaned if spec["type"] == FieldType.SIGNATURE) > 1:
        raise ValidationError("A document has one signature at most.")
    return cleaned


def options_of(spec: dict[str, Any]) -> list[dict[str, str]]:
    if spec["type"] == FieldType.YES_NO:
        return YES_NO_OPTIONS
    if spec["type"] == FieldType.SCALE:
        return [{"value": str(v), "label": str(v)} for v in range(spec["min"], spec["max"] + 1)]
    return list(spec.get("options", []))


def requires_signature(specs: list[dict[str, Any]]) -> bool:
    return any(spec["type"] == FieldType.SIGNATURE for spec in specs)


def answer_fields(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fields that take an answer (a signature is given separately, by e-signature)."""
    return [spec for spec in specs if spec["type"] != FieldType.SIGNATURE]


def display_answer(spec: dict[str, Any], value: Any) -> str:
    """An answer as the person chose it (option labels, not stored values)."""
    if value in (None, "", []):
        return "—"
    if spec["type"] in (*FieldType.WITH_OPTIONS, FieldType.YES_NO, FieldType.SCALE):
        labels = {option["value"]: option["label"] for option in options_of(spec)}
        values = value if isinstance(value, list) else [value]
        shown = [labels.get(str(v), str(v)) for v in values]
        if spec["type"] == FieldType.SCALE:
            return f"{value} (of {spec['min']}–{spec['max']})"
        return ", ".join(shown)
    if spec["type"] == FieldType.DATE:
        try:
            return date.fromisoformat(str(value)).strftime("%d %b %Y")
        except ValueError:
            return str(value)
    return str(value)


def _date_validator(*, past: bool) -> Any:
    def check(value: date) -> None:
        today = timezone.localdate()
        latest = today if past else date(today.year + 10, 12, 31)
        if not EARLIEST_DATE <= value <= latest:
            if past:
                raise ValidationError("Enter a date in the past (after 1900).")
            raise ValidationError("Enter a date between 1900 and ten years from now.")

    return check


def _must_be(expected: str) -> Any:
    def check(value: str) -> None:
        if value != expected:
            raise ValidationError(
                f"Answer \u201c{expected.capitalize()}\u201d to submit: if something is unclear, "
                "ask your therapist before signing."
            )

    return check


class AnswerForm(forms.Form):
    """The fields of one template version. `final` enforces required answers (on submit);
    saving progress checks only what was given (types, lengths, ranges, known options)."""

    def __init__(self, *args: Any, specs: list[dict[str, Any]], final: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.specs = answer_fields(specs)
        for spec in self.specs:
            self.fields[spec["key"]] = self._field(spec, required=final and spec["required"])

    @staticmethod
    def _field(spec: dict[str, Any], *, required: bool) -> forms.Field:
        common: dict[str, Any] = {
            "label": spec["label"],
            "help_text": spec.get("help", ""),
            "required": required,
            "error_messages": {"required": "Answer this question."},
        }
        kind = spec["type"]
        if kind == FieldType.SHORT_TEXT:
            return forms.CharField(max_length=SHORT_TEXT_MAX, **common)
        if kind == FieldType.LONG_TEXT:
            return forms.CharField(
                max_length=LONG_TEXT_MAX, widget=forms.Textarea(attrs={"rows": 4}), **common
            )
        if kind == FieldType.DATE:
            return forms.DateField(
                widget=forms.DateInput(attrs={"type": "date"}),
                validators=[_date_validator(past=spec.get("past", False))],
                **common,
            )
        if kind == FieldType.NUMBER:
            low, high = spec.get("min"), spec.get("max")
            return forms.DecimalField(
                max_digits=12,
                decimal_places=2,
                min_value=Decimal(low if low is not None else -NUMBER_LIMIT),
                max_value=Decimal(high if high is not None else NUMBER_LIMIT),
                **common,
            )
        choices = [(option["value"], option["label"]) for option in options_of(spec)]
        if kind == FieldType.MULTIPLE_CHOICE:
            return forms.MultipleChoiceField(
                choices=choices, widget=forms.CheckboxSelectMultiple, **common
            )
        field = forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
        if required and spec.get("must_be"):
            expected = spec["must_be"]
            field.validators.append(_must_be(expected))
        return field

    def questions(self) -> list[tuple[forms.BoundField, dict[str, Any]]]:
        """(bound field, its spec) in the document's order, for the template."""
        return [(self[spec["key"]], spec) for spec in self.specs]

    def answers(self) -> dict[str, Any]:
        """Cleaned data as JSON-ready values; unanswered questions are left out."""
        result: dict[str, Any] = {}
        for key, value in self.cleaned_data.items():
            if value in (None, "", []):
                continue
            if isinstance(value, date):
                result[key] = value.isoformat()
            elif isinstance(value, Decimal):
                result[key] = format(value.normalize(), "f")
            else:
                result[key] = value
        return result
