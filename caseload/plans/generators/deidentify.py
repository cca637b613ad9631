"""Build the de-identified PlanInput from a care relationship (TP-3).

A generator, and above all an outside AI service, gets an age band instead of the birth date,
codes and clinical text instead of the profile, and free text de-identified to HIPAA Safe
Harbor (45 CFR 164.514(b)(2)): all 18 identifier classes go, in this order

1. what the record knows, as deny-lists: the client, a child's guardian, the emergency
   contact, prescribers, the therapist and the practice; their initials, any word that
   contains their names (a social handle), nicknames the text itself introduces ("goes by
   Benny"), the stored address and its parts, the birth date;
2. then detectors for the rest (detect.py): emails, URLs, handles, IP addresses, SSNs,
   record/account/licence and other numbers, phone numbers (`phonenumbers`), every date
   element but the year (any format, holidays too), ages over 89, street addresses,
   organisations (employers, schools, hospitals), places smaller than a state, occupation
   details, other people's names and initials.

It errs on the side of removing: a name part that is also a common word ("Will", "Hope") is
only removed when capitalised, everything else in any case. The therapist sees the result
before it is sent to an outside service ("Review what will be sent").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from caseload.clients.models import CareRelationship, Guardianship
from caseload.clinical.models import ClinicalSummary, DiagnosisStatus
from caseload.plans.generators import detect
from caseload.plans.generators.base import MONTHS, PlanInput
from caseload.visits.models import NoteStatus, ProgressNote

#: A pattern and what replaces each match (a string, or a function of the match).
Step = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]

CLIENT = "[client]"
GUARDIAN = "[guardian]"
CONTACT = "[contact]"
EMAIL = "[email]"
PHONE = "[phone]"
ADDRESS = "[address]"
BIRTH_DATE = "[birth date]"
THERAPIST = "[therapist]"
PRESCRIBER = "[prescriber]"
PRACTICE = "[practice]"

#: How many signed notes feed a plan, and how much of each free text is kept.
RECENT_NOTES = 3
NOTE_SECTIONS = ("assessment", "plan", "note", "response")
MAX_TEXT = 4000
MAX_NOTE = 1500

#: Name parts that are also everyday words: scrubbed only when written with a capital.
_COMMON_WORDS_TEXT = """
    amber april august autumn baker bell bill bishop black brown chance cook crystal dawn day
    faith frank gay grace grant green guy hill holly honor hope ivy jean joy king lily long love
    mark may miles page pearl penny rich river rose ruby sage sky star summer sunny ward white
    will wood young
"""
COMMON_WORDS = frozenset(_COMMON_WORDS_TEXT.split())
#: Straight and typographic apostrophes; hyphen-minus and the Unicode hyphen.
APOSTROPHES = "'\u2019"
HYPHENS = "-\u2010"
_WORD = rf"[\w{APOSTROPHES}.-]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits and phone separators that starts and ends with a digit; checked in _phone().
_PHONE = re.compile(r"(?<![\w+(])(?:\+|00)?\(?\d[\d \t().-]{5,}\d(?!\w)")
_DATE_LIKE = re.compile(r"\d{4}[.-]\d{1,2}[.-]\d{1,2}|\d{1,2}[.-]\d{1,2}[.-]\d{2,4}")
_STREET_SUFFIX = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|"
    r"Terrace|Ter|Circle|Cir|Highway|Hwy|Parkway|Pkwy|Square|Sq|Crescent|Close|Grove|Gardens|"
    r"Row|Mews|Trail|Trl|Alley|Plaza"
)
_STATE_ZIP = r"[A-Z]{2}\s+\d{5}(?:-\d{4})?"
_STREET = re.compile(
    r"\b\d{1,6}[A-Za-z]?\s+(?:(?:[A-Z]|\d+(?:st|nd|rd|th)\b)" + _WORD + r"*\s+){0,4}"
    r"(?i:" + _STREET_SUFFIX + r")\b"
    r"(?:,?\s+(?i:apt|apartment|suite|ste|unit|floor|fl|#)\.?\s*[\w-]+)?"
    r"(?:,\s*(?:[A-Z]" + _WORD + r"+\s){0,2}[A-Z]" + _WORD + r"+,?\s+" + _STATE_ZIP + r")?"
)
_CITY_STATE_ZIP = re.compile(
    r"\b(?:[A-Z]" + _WORD + r"+\s){0,2}[A-Z]" + _WORD + r"+,\s*" + _STATE_ZIP + r"\b"
)
_PO_BOX = re.compile(r"\b(?i:p\.?\s?o\.?\s*box)\s+\d+\b")
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_ANY_DATE = (
    r"(?:\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+" + _MONTH + r"\.?,?\s+\d{4}"
    r"|" + _MONTH + r"\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})"
)
_BORN = re.compile(
    r"(?i)\b(DOB|D\.O\.B\.?|date of birth|birth\s?date|born(?:\s+on)?)(\s*:?\s*)" + _ANY_DATE
)


CHILD_BANDS = ("0-5", "6-12", "13-17")


def age_band(date_of_birth: date | None, on: date) -> str | None:
    """A child band (0-5, 6-12, 13-17), a decade band for adults, or "90+" (HIPAA safe harbour)."""
    if date_of_birth is None or date_of_birth > on:
        return None
    age = (
        on.year
        - date_of_birth.year
        - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    )
    if age < 6:
        return "0-5"
    if age < 13:
        return "6-12"
    if age < 18:
        return "13-17"
    if age < 30:
        return "18-29"
    if age >= 90:
        return "90+"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _name_pattern(name: str) -> str:
    """The name with flexible spacing and either apostrophe."""
    either = f"[{APOSTROPHES}]"
    words = [
        "".join(either if c in APOSTROPHES else re.escape(c) for c in word) for word in name.split()
    ]
    return r"\s+".join(words)


def _phone(match: re.Match[str]) -> str:
    candidate = match.group(0)
    digits = re.sub(r"\D", "", candidate)
    groups = re.findall(r"\d+", candidate)
    if not 7 <= len(digits) <= 15 or max(len(group) for group in groups) < 3:
        return candidate  # scores, ranges, doses
    if _DATE_LIKE.fullmatch(candidate.strip("()")):
        return candidate
    return PHONE


def _birth_date_pattern(value: date) -> re.Pattern[str]:
    month = MONTHS[value.month - 1]
    mon = month[:3]
    day = rf"0?{value.day}(?:st|nd|rd|th)?"
    month_name = rf"(?:{month}|{mon}\.?)"
    mm = rf"0?{value.month}"
    dd = rf"0?{value.day}"
    year = rf"(?:{value.year}|{value.year % 100:02d})"
    variants = [
        rf"{value.year}[/.-]{mm}[/.-]{dd}",
        rf"{mm}[/.-]{dd}[/.-]{year}",
        rf"{dd}[/.-]{mm}[/.-]{year}",
        rf"{day}\s+(?:of\s+)?{month_name},?\s+{value.year}",
        rf"{month_name}\s+{day},?\s+{value.year}",
    ]
    return re.compile(r"(?<!\d)(?:" + "|".join(variants) + r")(?!\d)", re.IGNORECASE)


@dataclass(frozen=True)
class Scrubber:
    """Replaces identifying details in free text with placeholders like "[client]"."""

    names: tuple[tuple[str, str], ...] = ()  # (full name, placeholder)
    address: str = ""
    birth_date: date | None = None
    organisations: tuple[tuple[str, str], ...] = ()  # (name, placeholder): the practice

    def __call__(self, text: str) -> str:
        if not text:
            return ""
        if detect.NICKNAME.search(text):
            return self.learning([text])._scrub(text)
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        # Clinical eponyms (the Columbia scale, Linehan's DBT) are set aside, then put back.
        kept: list[str] = []

        def keep(match: re.Match[str]) -> str:
            kept.append(match.group(0))
            return f"\x00{len(kept) - 1}\x00"

        text = detect.CLINICAL_EPONYMS.sub(keep, text)
        for pattern, replacement in self._steps():
            text = pattern.sub(replacement, text)
        text = detect.replace_names(text)
        return re.sub("\x00(\\d+)\x00", lambda match: kept[int(match.group(1))], text)

    def learning(self, texts: Iterable[str]) -> Scrubber:
        """This scrubber, plus the nicknames the texts introduce ("goes by Benny")."""
        found = {m.group(1) for text in texts for m in detect.NICKNAME.finditer(text or "")}
        known = {name for name, _ in self.names}
        extra = tuple((name, detect.NAME) for name in sorted(found - known) if len(name) > 1)
        return Scrubber(
            names=self.names + extra,
            address=self.address,
            birth_date=self.birth_date,
            organisations=self.organisations,
        )

    def _steps(self) -> list[Step]:
        """In order: the things that contain names or digits (emails, URLs, handles, numbers,
        dates, addresses, phones), then what the record knows, then the detectors."""
        steps: list[Step] = [
            (_EMAIL, EMAIL),
            (detect.URL_PATTERN, detect.URL),
            (detect.HANDLE_PATTERN, detect.HANDLE),
            (detect.IPV4, detect.IP_ADDRESS),
            (detect.IPV6, detect.IP_ADDRESS),
            (detect.SSN_PATTERN, detect.SSN),
            (detect.NUMBER_AFTER_KEYWORD, _numbered),
        ]
        if self.birth_date is not None:
            steps.append((_birth_date_pattern(self.birth_date), BIRTH_DATE))
        steps.append((_BORN, _born))
        steps += [(pattern, detect._date) for pattern in detect.DATE_PATTERNS]
        steps.append((detect.AGE_OVER_89, detect.AGE_90_PLUS))
        for fragment in _address_fragments(self.address):
            known = re.compile(r"(?<!\w)" + _name_pattern(fragment) + r"(?!\w)", re.IGNORECASE)
            steps.append((known, ADDRESS))
        steps += [
            (_STREET, ADDRESS),
            (_CITY_STATE_ZIP, ADDRESS),
            (_PO_BOX, ADDRESS),
            (_PHONE, _phone),
            (_PHONE_ANYWHERE, _phone_number),
            (detect.LONG_NUMBER, detect.NUMBER),
        ]
        steps += _handle_steps(self.names)
        for name, placeholder in self.organisations:
            if name.strip():
                known = re.compile(r"(?<!\w)" + _name_pattern(name.strip()) + r"(?!\w)", re.I)
                steps.append((known, placeholder))
        steps += _name_steps(self.names)
        steps += _initials_steps(self.names)
        steps += [
            (detect.ORG_KNOWN, detect.ORGANISATION),
            (detect.ORG_BY_CONTEXT, detect._org_in_context),
            (detect.ORG_BY_SUFFIX, detect.ORGANISATION),
            (detect.OCCUPATION_PHRASE, detect._occupation),
            (detect.TOWN_BEFORE_STATE, detect._town),
            (detect.PLACE_SUFFIX, detect.PLACE),
            (detect.place_pattern(), detect.PLACE),
            (detect.INITIALS_PATTERN, detect.INITIALS),
        ]
        return steps


class _PhoneAnywhere:
    """`phonenumbers`' matcher in the shape of a pattern (`.sub`), for the steps list."""

    def sub(self, replacement: Callable[[re.Match[str]], str] | str, text: str) -> str:
        import phonenumbers

        spans = [
            (match.start, match.end)
            for match in phonenumbers.PhoneNumberMatcher(
                text, "US", leniency=phonenumbers.Leniency.POSSIBLE
            )
        ]
        for start, end in reversed(spans):
            text = text[:start] + PHONE + text[end:]
        return text


_PHONE_ANYWHERE: Any = _PhoneAnywhere()


def _phone_number(match: re.Match[str]) -> str:  # pragma: no cover - never a regex match
    return PHONE


def _numbered(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}{detect.NUMBER}"


def _handle_steps(names: Iterable[tuple[str, str]]) -> list[Step]:
    """A word that contains a known name part plus more ("tobyokafor92"): a handle."""
    parts = {
        part.casefold()
        for name, _ in names
        for part in re.split(r"[\s.\u2019\u2010'-]+", _fold(name))
        if len(part) >= 4 and part.casefold() not in COMMON_WORDS
    }
    if not parts:
        return []
    alternation = "|".join(re.escape(part) for part in sorted(parts, key=len, reverse=True))
    pattern = re.compile(
        r"(?<![\w\[@.])(?:[\w.]+(?:" + alternation + r")[\w.]*|(?:" + alternation + r")[\w.]*"
        r"(?:\d|_)[\w.]*)(?![\w\]])",
        re.IGNORECASE,
    )
    return [(pattern, detect.HANDLE)]


def _initials_steps(names: Iterable[tuple[str, str]]) -> list[Step]:
    """The initials of every known person: "MP", "M.P.", "M. P."."""
    steps: list[Step] = []
    for name, _ in names:
        letters = [word[0].upper() for word in _fold(name).split() if word[:1].isalpha()]
        if len(letters) < 2:
            continue
        dotted = r"\.?\s?".join(letters) + r"\.?"
        pattern = re.compile(r"(?<![\w.\[])(?:" + dotted + r")(?![\w\]])")
        steps.append((pattern, detect.INITIALS))
    return steps


def _born(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}{BIRTH_DATE}"


def _address_fragments(address: str) -> list[str]:
    """The stored address, each line and each comma part long enough to be specific."""
    fragments: list[str] = []
    lines = [line.strip(" ,") for line in address.splitlines() if line.strip(" ,")]
    if len(lines) > 1:
        fragments.append(", ".join(lines))
    for line in lines:
        fragments.append(line)
        parts = [part.strip() for part in line.split(",") if part.strip()]
        if len(parts) > 1:
            fragments += [part for part in parts if len(part) >= 4 and re.search(r"[A-Za-z]", part)]
    unique = list(dict.fromkeys(fragment for fragment in fragments if len(fragment) >= 4))
    return sorted(unique, key=len, reverse=True)


def _name_parts(name: str) -> tuple[list[str], list[str], list[str]]:
    """(full-name patterns, parts matched in any case, parts matched only when capitalised)."""
    full_names = list(dict.fromkeys([name.strip(), _fold(name.strip())]))
    parts: list[str] = []
    for full in full_names:
        for word in full.split():
            parts.append(word)
            parts += [piece for piece in re.split(f"[{HYPHENS}]", word) if piece != word]
    any_case: list[str] = []
    capitalised: list[str] = []
    for part in dict.fromkeys(parts):
        cleaned = part.strip(".,")
        if len(cleaned) < 2:
            continue  # initials
        if cleaned.casefold() in COMMON_WORDS:
            capitalised += [re.escape(cleaned.capitalize()), re.escape(cleaned.upper())]
        else:
            any_case.append(_name_pattern(cleaned))
    return [_name_pattern(full) for full in full_names], any_case, capitalised


def _alternation(patterns: Iterable[str], flags: int = 0) -> re.Pattern[str]:
    by_length = sorted(dict.fromkeys(patterns), key=len, reverse=True)
    return re.compile(r"(?<![\w@\[])(?:" + "|".join(by_length) + r")(?!\w)", flags)


def _name_steps(names: Iterable[tuple[str, str]]) -> list[Step]:
    """Every person's full name first, then their single names ("Okafor" is the client's)."""
    full_steps: list[Step] = []
    part_steps: list[Step] = []
    for name, placeholder in names:
        if not name.strip():
            continue
        full, any_case, capitalised = _name_parts(name)
        full_steps.append((_alternation(full, re.IGNORECASE), placeholder))
        if any_case:
            part_steps.append((_alternation(any_case, re.IGNORECASE), placeholder))
        if capitalised:
            part_steps.append((_alternation(capitalised), placeholder))
    return full_steps + part_steps


def _clean(text: str, limit: int) -> str:
    """Trim, drop blank lines and cap the length (at a word boundary)."""
    lines = [" ".join(line.split()) for line in (text or "").splitlines()]
    joined = "\n".join(line for line in lines if line)
    if len(joined) <= limit:
        return joined
    cut = joined[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def scrubber_for(relationship: CareRelationship) -> Scrubber:
    """The scrubber for this client: everyone and everything the record names."""
    client = relationship.client
    names: list[tuple[str, str]] = [(relationship.client_name, CLIENT)]
    if client.full_name and client.full_name != relationship.client_name:
        names.append((client.full_name, CLIENT))  # the name the client was first added as
    if client.is_child:
        guardians = Guardianship.objects.filter(child=client).values_list("full_name", flat=True)
        names += [(name, GUARDIAN) for name in guardians]
    if relationship.emergency_name:
        names.append((relationship.emergency_name, CONTACT))
    prescribers = relationship.medications.exclude(prescriber="").values_list(
        "prescriber", flat=True
    )
    names += [(_without_title(name), PRESCRIBER) for name in dict.fromkeys(prescribers)]
    therapist, practice = (
        CareRelationship.objects.filter(pk=relationship.pk)
        .values_list("therapist__full_name", "practice__name")
        .get()
    )
    if therapist:
        names.append((therapist, THERAPIST))
    return Scrubber(
        names=tuple(names),
        address=relationship.address,
        birth_date=relationship.date_of_birth,
        organisations=((practice, PRACTICE),),
    )


def _without_title(name: str) -> str:
    return re.sub(r"^(?:Dr|Doctor|Mr|Mrs|Ms|Mx|Prof)\.?\s+|,\s*(?:MD|DO|NP|PA|PhD)\b.*$", "", name)


def _note_text(content: dict[str, object]) -> str:
    parts = []
    for key in NOTE_SECTIONS:
        text = str(content.get(key) or "").strip()
        if text:
            parts.append(f"{key.capitalize()}: {text}")
    return "\n".join(parts)


def _medication_line(name: str, dose: str, frequency: str) -> str:
    line = " ".join(part for part in (name.strip(), dose.strip()) if part)
    return f"{line}, {frequency.strip()}" if frequency.strip() else line


def build_plan_input(relationship: CareRelationship, *, start_date: date) -> PlanInput:
    """Everything a generator may use about this client, de-identified (TP-3)."""
    band = age_band(relationship.date_of_birth, start_date)
    is_child = relationship.client.is_child or band in CHILD_BANDS

    diagnoses = [
        (code, description)
        for code, description in relationship.diagnoses.filter(status=DiagnosisStatus.ACTIVE)
        .order_by("-is_primary", "created_at", "pk")
        .values_list("code", "description")
    ]
    summary = ClinicalSummary.objects.filter(relationship=relationship).first()
    medication_lines = [
        _medication_line(name, dose, frequency)
        for name, dose, frequency, stop in relationship.medications.order_by(
            "start_date", "name", "pk"
        ).values_list("name", "dose", "frequency", "stop_date")
        if stop is None or stop >= start_date
    ]
    notes = (
        ProgressNote.objects.filter(
            session__relationship=relationship,
            status__in=[NoteStatus.SIGNED, NoteStatus.COSIGNED],
        )
        .order_by("-session__starts_at", "-pk")
        .values_list("content", flat=True)[:RECENT_NOTES]
    )
    note_texts = [_note_text(content or {}) for content in notes]
    concerns = summary.presenting_concerns if summary else ""
    history = summary.mental_health_history if summary else ""
    scrub = scrubber_for(relationship).learning([concerns, history, *note_texts])
    medications = [scrub(line) for line in medication_lines]
    recent_notes = [text for text in (_clean(scrub(t), MAX_NOTE) for t in note_texts) if text]
    return PlanInput(
        age_band=band,
        is_child=is_child,
        diagnoses=diagnoses,
        presenting_concerns=_clean(scrub(concerns), MAX_TEXT),
        history=_clean(scrub(history), MAX_TEXT),
        medications=[line for line in medications if line],
        recent_notes=recent_notes,
        start_date=start_date,
    )
