"""The clinical knowledge base: TOML files in caseload/plans/knowledge/, one per family.

Each file names the ICD-10-CM code prefixes it covers and lists treatment-planning elements:
problems, long-term goals, measurable objectives (with a measure and a target in weeks),
interventions, a session frequency and discharge criteria. `general.toml` is the fallback for
codes no family covers, and carries the additions for children and for clients on medication.

Texts may use placeholders that the generator fills for the tone: {client} {Client} {their}
{them} {themself} {has} {is} (third or second person), {diagnosis} (general fallback only) and
{medications} (the medication addition only).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
GENERAL = "general"
AUDIENCES = ("any", "adult", "child")
PLACEHOLDERS = frozenset(
    {"client", "Client", "their", "them", "themself", "has", "is", "diagnosis", "medications"}
)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class KnowledgeBaseError(Exception):
    """A knowledge file is missing a field or has one it shouldn't."""


@dataclass(frozen=True)
class Element:
    """A problem, goal or discharge criterion."""

    text: str
    clinical: str
    rationale: str = ""
    audience: str = "any"

    @property
    def key(self) -> str:
        return " ".join(self.text.casefold().split())


@dataclass(frozen=True)
class Objective:
    """A measurable short-term objective, due `weeks` after the plan starts."""

    text: str
    clinical: str
    measure: str
    weeks: int
    rationale: str = ""
    audience: str = "any"
    #: The trauma-focused protocol this belongs to (CPT, PE, EMDR, TF-CBT); a plan uses one.
    protocol: str = ""

    @property
    def key(self) -> str:
        return " ".join(self.text.casefold().split())


@dataclass(frozen=True)
class Intervention:
    """An evidence-based intervention; `text` is a verb phrase ("schedule valued activities…")."""

    name: str
    short: str
    text: str
    clinical: str
    rationale: str = ""
    audience: str = "any"
    protocol: str = ""

    @property
    def key(self) -> str:
        return self.name.casefold()


@dataclass(frozen=True)
class Frequency:
    text: str  # a sentence
    plain: str  # completes "We'll meet …"
    clinical: str


@dataclass(frozen=True)
class Family:
    """A diagnosis family: the codes it covers and its treatment-planning elements."""

    key: str
    label: str
    codes: tuple[str, ...]
    frequency: Frequency
    problems: tuple[Element, ...]
    goals: tuple[Element, ...]
    objectives: tuple[Objective, ...]
    interventions: tuple[Intervention, ...]
    discharge: tuple[Element, ...]


@dataclass(frozen=True)
class Addition:
    """Elements added to every plan in a situation (a child client, current medication)."""

    frequency: Frequency | None
    goals: tuple[Element, ...]
    objectives: tuple[Objective, ...]
    interventions: tuple[Intervention, ...]
    discharge: tuple[Element, ...]
    problems: tuple[Element, ...] = ()


@dataclass(frozen=True)
class KnowledgeBase:
    families: tuple[Family, ...]
    general: Family
    child: Addition
    medication: Addition
    #: Added first, at every length, when the record documents a risk of harm.
    risk: Addition = Addition(None, (), (), (), ())

    def family_for(self, code: str) -> Family | None:
        """The family whose longest code prefix matches, or None (use the general fallback)."""
        normalised = code.strip().upper()
        best: tuple[int, Family] | None = None
        for family in self.families:
            for prefix in family.codes:
                if normalised.startswith(prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), family)
        return best[1] if best else None


# Loading ------------------------------------------------------------------------------------
def _check_keys(
    data: dict[str, Any], *, required: set[str], optional: set[str], where: str
) -> None:
    missing = required - data.keys()
    unknown = data.keys() - required - optional
    if missing:
        raise KnowledgeBaseError(f"{where}: missing {', '.join(sorted(missing))}")
    if unknown:
        raise KnowledgeBaseError(f"{where}: unknown {', '.join(sorted(unknown))}")
    for name, value in data.items():
        if isinstance(value, str):
            if not value.strip():
                raise KnowledgeBaseError(f"{where}: {name} is empty")
            for placeholder in _PLACEHOLDER.findall(value):
                if placeholder not in PLACEHOLDERS:
                    raise KnowledgeBaseError(f"{where}: unknown placeholder {{{placeholder}}}")
    if data.get("audience", "any") not in AUDIENCES:
        raise KnowledgeBaseError(f"{where}: audience must be one of {', '.join(AUDIENCES)}")


def _elements(data: dict[str, Any], section: str, where: str) -> tuple[Element, ...]:
    items = []
    for index, item in enumerate(data.get(section, []), start=1):
        _check_keys(
            item,
            required={"text", "clinical"},
            optional={"rationale", "audience"},
            where=f"{where} {section}[{index}]",
        )
        items.append(Element(**item))
    return tuple(items)


def _objectives(data: dict[str, Any], where: str) -> tuple[Objective, ...]:
    items = []
    for index, item in enumerate(data.get("objectives", []), start=1):
        label = f"{where} objectives[{index}]"
        _check_keys(
            item,
            required={"text", "clinical", "measure", "weeks"},
            optional={"rationale", "audience", "protocol"},
            where=label,
        )
        if not isinstance(item["weeks"], int) or not 1 <= item["weeks"] <= 52:
            raise KnowledgeBaseError(f"{label}: weeks must be a whole number from 1 to 52")
        items.append(Objective(**item))
    return tuple(items)


def _interventions(data: dict[str, Any], where: str) -> tuple[Intervention, ...]:
    items = []
    for index, item in enumerate(data.get("interventions", []), start=1):
        _check_keys(
            item,
            required={"name", "short", "text", "clinical"},
            optional={"rationale", "audience", "protocol"},
            where=f"{where} interventions[{index}]",
        )
        items.append(Intervention(**item))
    return tuple(items)


def _frequency(data: Any, where: str) -> Frequency:
    if not isinstance(data, dict):
        raise KnowledgeBaseError(f"{where}: frequency must be a table")
    _check_keys(data, required={"text", "plain", "clinical"}, optional=set(), where=where)
    return Frequency(**data)


def _family(data: dict[str, Any], where: str) -> Family:
    sections = {"problems", "goals", "objectives", "interventions", "discharge"}
    _check_keys(
        data,
        required={"family", "label", "codes", "frequency", *sections},
        optional={"child", "medication", "risk"},
        where=where,
    )
    codes = tuple(str(code).strip().upper() for code in data["codes"])
    family = Family(
        key=data["family"],
        label=data["label"],
        codes=codes,
        frequency=_frequency(data["frequency"], f"{where} frequency"),
        problems=_elements(data, "problems", where),
        goals=_elements(data, "goals", where),
        objectives=_objectives(data, where),
        interventions=_interventions(data, where),
        discharge=_elements(data, "discharge", where),
    )
    for section in sections:
        if not getattr(family, section):
            raise KnowledgeBaseError(f"{where}: {section} is empty")
    return family


def _addition(data: dict[str, Any] | None, where: str) -> Addition:
    data = data or {}
    _check_keys(
        data,
        required=set(),
        optional={"frequency", "problems", "goals", "objectives", "interventions", "discharge"},
        where=where,
    )
    return Addition(
        problems=_elements(data, "problems", where),
        frequency=_frequency(data["frequency"], where) if "frequency" in data else None,
        goals=_elements(data, "goals", where),
        objectives=_objectives(data, where),
        interventions=_interventions(data, where),
        discharge=_elements(data, "discharge", where),
    )


def load_knowledge(directory: Path = KNOWLEDGE_DIR) -> KnowledgeBase:
    """Read and check every *.toml file in `directory` (sorted, so the order is stable)."""
    families: list[Family] = []
    general: Family | None = None
    child = medication = risk = Addition(None, (), (), (), ())
    for path in sorted(directory.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise KnowledgeBaseError(f"{path.name}: {error}") from error
        family = _family(data, path.name)
        if family.key == GENERAL:
            general = family
            child = _addition(data.get("child"), f"{path.name} child")
            medication = _addition(data.get("medication"), f"{path.name} medication")
            risk = _addition(data.get("risk"), f"{path.name} risk")
        else:
            if not family.codes:
                raise KnowledgeBaseError(f"{path.name}: codes is empty")
            families.append(family)
    if general is None:
        raise KnowledgeBaseError(f"{directory}: no {GENERAL}.toml fallback")
    owners: dict[str, str] = {}
    for family in families:
        for prefix in family.codes:
            if prefix in owners:
                raise KnowledgeBaseError(
                    f"{prefix} is in both {owners[prefix]} and {family.key}: give it one family"
                )
            owners[prefix] = family.key
    return KnowledgeBase(
        families=tuple(families),
        general=general,
        child=child,
        medication=medication,
        risk=risk,
    )


@cache
def default_knowledge() -> KnowledgeBase:
    """The shipped knowledge base, loaded once per process."""
    return load_knowledge()
