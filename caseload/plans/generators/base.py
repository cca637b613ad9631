"""The generator interface (TP-3): options, the de-identified input, the error and the protocol."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Protocol

LENGTHS = [("short", "Short"), ("medium", "Medium"), ("long", "Long")]
TONES = [
    ("professional", "Professional"),
    ("conversational", "Conversational"),
    ("clinical", "Clinical"),
]
FORMATS = [
    ("structured", "Structured"),
    ("narrative", "Narrative"),
    ("bullet_points", "Bullet Points"),
]

#: The only tags a generator may emit; the caller sanitises with nh3 against its own list too.
ALLOWED_TAGS = ("h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "a", "br")

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_date(value: date) -> str:
    """ "12 February 2027", whatever the process locale."""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


class GenerationError(Exception):
    """Generation failed; `str(error)` is a sentence shown to the therapist."""


@dataclass(frozen=True)
class PlanOptions:
    """Length, tone and format chosen in the "Generate with AI" dialog (TP-2)."""

    length: str = "medium"
    tone: str = "professional"
    format: str = "structured"

    def __post_init__(self) -> None:
        for name, choices in (("length", LENGTHS), ("tone", TONES), ("format", FORMATS)):
            value = getattr(self, name)
            if value not in dict(choices):
                raise ValueError(f"Unknown plan {name}: {value!r}")

    def describe(self) -> str:
        """ "Medium · Professional · Structured", for version lists."""
        return " · ".join(
            dict(choices)[getattr(self, name)]
            for name, choices in (("length", LENGTHS), ("tone", TONES), ("format", FORMATS))
        )


@dataclass(frozen=True)
class PlanInput:
    """What a generator may know about the client: de-identified.

    No name, email, phone, address or exact birth date: an age band instead, and free text
    scrubbed of the client's (and a child's guardian's) name and of contact details.
    """

    age_band: str | None
    is_child: bool
    diagnoses: list[tuple[str, str]]  # (ICD-10-CM code, description), primary first, active only
    presenting_concerns: str
    history: str
    medications: list[str]
    recent_notes: list[str]  # most recent first
    start_date: date  # the plan's effective date; target dates are counted from it

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (for a task argument or a log of what was sent)."""
        data = asdict(self)
        data["diagnoses"] = [list(item) for item in self.diagnoses]
        data["start_date"] = self.start_date.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanInput:
        return cls(
            age_band=data.get("age_band"),
            is_child=bool(data.get("is_child")),
            diagnoses=[(str(code), str(text)) for code, text in data.get("diagnoses", [])],
            presenting_concerns=str(data.get("presenting_concerns", "")),
            history=str(data.get("history", "")),
            medications=[str(item) for item in data.get("medications", [])],
            recent_notes=[str(item) for item in data.get("recent_notes", [])],
            start_date=date.fromisoformat(data["start_date"]),
        )


class PlanGenerator(Protocol):
    """Turns de-identified input and options into a draft plan (HTML with ALLOWED_TAGS)."""

    name: str

    def generate(self, plan_input: PlanInput, options: PlanOptions) -> str: ...
