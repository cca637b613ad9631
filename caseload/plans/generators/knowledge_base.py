"""The default generator: offline, deterministic, built from the clinical knowledge base (TP-3).

Same input and options, same HTML. The knowledge lives in data files (see knowledge.py); this
module only selects, orders, phrases and lays it out:

- every active diagnosis contributes its family (primary first; unknown codes use the general
  fallback), the first element of each family comes first, duplicates are dropped;
- the record's text counts too: substance use described in the concerns, history or notes
  ("2-3 beers most evenings to sleep") brings in the substance-use family right after the
  primary diagnosis; documented risk (a risk code, or suicidal thoughts or self-harm in the
  text, not denied) puts safety planning and C-SSRS risk monitoring first, at every length;
- one trauma-focused protocol per plan (CPT, PE, EMDR or TF-CBT, the first listed for the
  client's age group), with only that protocol's objectives;
- every objective's measure is a threshold or a count (the knowledge-base tests check it);
- Length sets how many elements each section gets and whether rationales are given;
- Tone picks the wording: third person ("The client will…"), second person ("You will…") or
  terse clinical terms;
- Format picks the layout: headings with paragraphs and lists, flowing paragraphs, or bullets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from typing import Protocol

from caseload.plans.generators.base import PlanInput, PlanOptions, format_date
from caseload.plans.generators.knowledge import (
    Addition,
    Element,
    Family,
    Frequency,
    Intervention,
    KnowledgeBase,
    Objective,
    default_knowledge,
)


@dataclass(frozen=True)
class Limits:
    problems: int
    goals: int
    objectives: int
    interventions: int
    discharge: int
    context_chars: int  # how much of the presenting concerns and history to quote
    notes: int  # how many recent notes to quote
    history: bool
    rationale: bool


LIMITS = {
    "short": Limits(2, 1, 3, 3, 2, context_chars=160, notes=0, history=False, rationale=False),
    "medium": Limits(3, 2, 5, 4, 3, context_chars=400, notes=1, history=True, rationale=False),
    "long": Limits(5, 3, 8, 7, 4, context_chars=1200, notes=3, history=True, rationale=True),
}

HEADINGS = {
    "professional": {
        "title": "Treatment plan",
        "context": "Clinical context",
        "problems": "Problems",
        "goals": "Long-term goals",
        "objectives": "Short-term objectives",
        "interventions": "Interventions",
        "frequency": "Session frequency",
        "discharge": "Discharge criteria",
    },
    "conversational": {
        "title": "Your treatment plan",
        "context": "Where we are starting (clinical context)",
        "problems": "What we are working on (problems)",
        "goals": "Where you want to get to (long-term goals)",
        "objectives": "Steps along the way (short-term objectives)",
        "interventions": "How we will work (interventions)",
        "frequency": "How often we will meet (session frequency)",
        "discharge": "When you will be ready to finish (discharge criteria)",
    },
    "clinical": {
        "title": "Treatment plan",
        "context": "Clinical context",
        "problems": "Problem list",
        "goals": "Long-term goals (LTG)",
        "objectives": "Short-term objectives (STO)",
        "interventions": "Interventions",
        "frequency": "Frequency",
        "discharge": "Discharge criteria",
    },
}

CONTEXT_LABELS = {
    "professional": {
        "start": "Effective date",
        "client": "Client",
        "diagnoses": "Diagnoses",
        "concerns": "Presenting concerns",
        "history": "History",
        "medications": "Current medications",
        "latest_note": "Most recent session",
        "earlier_note": "Earlier session",
    },
    "conversational": {
        "start": "Plan starts",
        "client": "About you",
        "diagnoses": "Diagnoses",
        "concerns": "What brings you to therapy",
        "history": "Your history",
        "medications": "Your medications",
        "latest_note": "From our last session",
        "earlier_note": "From an earlier session",
    },
    "clinical": {
        "start": "Start",
        "client": "Pt",
        "diagnoses": "Dx",
        "concerns": "CC",
        "history": "Hx",
        "medications": "Meds",
        "latest_note": "Last note",
        "earlier_note": "Prior note",
    },
}

RATIONALE_LABEL = {
    "professional": "Rationale",
    "conversational": "Why this helps",
    "clinical": "Rationale",
}
PROBLEM_RATIONALE_LABEL = {**RATIONALE_LABEL, "conversational": "Why this matters"}


# Text helpers -------------------------------------------------------------------------------
def _lcfirst(text: str) -> str:
    """Lower-case the first letter unless the word is an acronym ("ADHD", "PTSD")."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _ucfirst(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?…" else text + "."


def _join(phrases: Sequence[str]) -> str:
    """ "a, b and c" — or "a; b; and c" when a phrase has a comma of its own."""
    if len(phrases) <= 1:
        return "".join(phrases)
    separator = "; " if any("," in phrase for phrase in phrases) else ", "
    last = "; and " if separator == "; " else " and "
    return separator.join(phrases[:-1]) + last + phrases[-1]


def _clip(text: str, limit: int) -> str:
    """At most about `limit` characters, ended at a sentence or, failing that, a word: never
    in the middle of a word."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit + 1]
    sentence_end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    if sentence_end >= limit // 2:
        return flat[: sentence_end + 1] + " …"
    space = head.rfind(" ")
    if space <= 0:  # one very long word: keep it whole
        space = flat.find(" ", limit)
        return flat if space == -1 else flat[:space] + " …"
    return flat[:space].rstrip(",;:") + " …"


def _strip_article(text: str) -> str:
    for article in ("a ", "an ", "the "):
        if text.startswith(article):
            return text[len(article) :]
    return text


@dataclass(frozen=True)
class Voice:
    """Fills placeholders for the tone: the client in the third person, or "you"."""

    tone: str
    diagnosis: str = ""
    medications: str = ""

    @property
    def second_person(self) -> bool:
        return self.tone == "conversational"

    def fill(self, text: str) -> str:
        """The text with placeholders filled. Returns raw text: escape before output."""
        you = self.second_person
        values = {
            "client": "you" if you else "the client",
            "Client": "You" if you else "The client",
            "their": "your" if you else "their",
            "them": "you" if you else "them",
            "themself": "yourself" if you else "themselves",
            "has": "have" if you else "has",
            "is": "are" if you else "is",
            "diagnosis": self.diagnosis,
            "medications": self.medications,
        }
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return text

    def html(self, text: str) -> str:
        return escape(self.fill(text), quote=False)


# Layout -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Section:
    heading: str
    items: list[str]  # HTML sentences, for lists and bullets
    prose: str  # HTML, for the narrative format
    ordered: bool = False
    paragraphs: bool = False  # in the structured format, items are paragraphs, not a list


def _render(title: str, sections: Iterable[Section], layout: str) -> str:
    parts = [f"<h2>{escape(title)}</h2>"]
    for section in sections:
        parts.append(f"<h3>{escape(section.heading)}</h3>")
        if layout == "narrative":
            parts.append(f"<p>{section.prose}</p>")
        elif layout == "bullet_points":
            parts.append("<ul>" + "".join(f"<li>{item}</li>" for item in section.items) + "</ul>")
        elif section.paragraphs:
            parts += [f"<p>{item}</p>" for item in section.items]
        else:
            tag = "ol" if section.ordered else "ul"
            parts.append(
                f"<{tag}>" + "".join(f"<li>{item}</li>" for item in section.items) + f"</{tag}>"
            )
    return "\n".join(parts) + "\n"


# What the record says, beyond its codes -------------------------------------------------------
#: Codes that document a risk of harm: suicidal or homicidal ideation, self-harm, a history of
#: suicidal behaviour or self-harm, intentional self-poisoning or injury.
RISK_CODES = ("R45.85", "R45.88", "Z91.5", "T14.91", "T36", "T37", "T38", "T39", "T4", "T50")
_NEGATION = r"(?:denie[sd]|deny|denying|no|not|never|without|negative for|nor)\b[^.;\n]{0,30}"
SI_WORD = re.compile(r"\b(?:SI|HI)\b")  # case matters: "si" is not suicidal ideation
RISK_WORDS = re.compile(
    r"(?i)\b(?:suicid\w*|self[- ]?harm\w*|self[- ]?injur\w*|NSSI|overdos\w*|cutting|"
    r"(?:wants?|wanted|wish(?:es|ed)?) to (?:die|be dead|not (?:be here|wake up))|"
    r"better off dead|kill(?:ing)? (?:him|her|them|my)sel(?:f|ves)|end(?:ing)? (?:my|his|her|"
    r"their) life|homicid\w*|hurt(?:ing)? (?:someone|others|people))",
)
SUBSTANCE_WORDS = re.compile(
    r"(?i)\b(?:beers?|wine|vodka|whiske?y|liquor|spirits|drinks? (?:most|every|each|a day|daily|"
    r"nightly|to)|drinking|alcohol|drunk|hung ?over|binge drink\w*|cannabis|marijuana|weed|"
    r"THC|edibles|cocaine|crack|meth\w*|amphetamine\w*|opioids?|opiates?|heroin|fentanyl|"
    r"oxy(?:codone|contin)?|benzos?|xanax|kratom)\b"
)
SUBSTANCE_FAMILY = "substance_use"


def _mentions(pattern: re.Pattern[str], texts: Iterable[str]) -> bool:
    """Whether a text mentions the pattern other than in a denial ("denies SI")."""
    for text in texts:
        for match in pattern.finditer(text):
            start = text.rfind(".", 0, match.start()) + 1
            before = text[max(start, match.start() - 45) : match.start()]
            if not re.search(_NEGATION + r"$", before, re.IGNORECASE):
                return True
    return False


def documents_risk(plan_input: PlanInput) -> bool:
    """A risk code among the diagnoses, or risk described in the concerns, history or notes."""
    if any(code.upper().startswith(RISK_CODES) for code, _ in plan_input.diagnoses):
        return True
    texts = [plan_input.presenting_concerns, plan_input.history, *plan_input.recent_notes]
    present = [text for text in texts if text]
    return _mentions(RISK_WORDS, present) or _mentions(SI_WORD, present)


def describes_substance_use(plan_input: PlanInput) -> bool:
    """Substance use described in the concerns, history or notes ("2-3 beers most evenings")."""
    texts = [plan_input.presenting_concerns, plan_input.history, *plan_input.recent_notes]
    return _mentions(SUBSTANCE_WORDS, [text for text in texts if text])


# Selection ----------------------------------------------------------------------------------
class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


@dataclass(frozen=True)
class Source:
    """A family drawn on by the plan, with the diagnosis codes that brought it in."""

    family: Family
    codes: tuple[str, ...]
    diagnosis: str  # for the general fallback's {diagnosis}


def _pick[T: _Keyed](
    groups: Sequence[Sequence[tuple[T, Source]]], limit: int
) -> list[tuple[T, Source]]:
    """The first element of every family, then the rest in order; no duplicates; at most `limit`."""
    queues = [list(group) for group in groups]
    chosen: list[tuple[T, Source]] = []
    seen: set[str] = set()

    def take(queue: list[tuple[T, Source]]) -> None:
        while queue:
            item, source = queue.pop(0)
            if item.key not in seen:
                seen.add(item.key)
                chosen.append((item, source))
                return

    for queue in queues:
        take(queue)
    for queue in queues:
        while queue:
            take(queue)
    return chosen[:limit]


def _add[T: _Keyed](
    chosen: list[tuple[T, Source]], extra: Iterable[T], source: Source
) -> list[tuple[T, Source]]:
    seen = {item.key for item, _ in chosen}
    return chosen + [(item, source) for item in extra if item.key not in seen]


def _for_audience[T: _Keyed](items: Iterable[T], is_child: bool) -> list[T]:
    excluded = "adult" if is_child else "child"
    return [item for item in items if getattr(item, "audience", "any") != excluded]


class KnowledgeBaseGenerator:
    """The offline generator (TP-3 default)."""

    name = "knowledge_base"

    def __init__(self, knowledge: KnowledgeBase | None = None) -> None:
        self.knowledge = knowledge or default_knowledge()

    # The plan -------------------------------------------------------------------------------
    def generate(self, plan_input: PlanInput, options: PlanOptions) -> str:
        limits = LIMITS[options.length]
        tone = options.tone
        sources = self._sources(plan_input)
        voice = Voice(tone=tone, medications="; ".join(plan_input.medications))
        child = plan_input.is_child
        protocol = _primary_protocol(sources, child)
        risk = self.knowledge.risk if documents_risk(plan_input) else None
        extras = [self.knowledge.child] if child else []
        if plan_input.medications:
            extras.append(self.knowledge.medication)
        extra_source = Source(self.knowledge.general, (), "")

        def groups[T: _Keyed](attribute: str) -> list[list[tuple[T, Source]]]:
            return [
                [
                    (item, source)
                    for item in _for_audience(getattr(source.family, attribute), child)
                    if getattr(item, "protocol", "") in ("", protocol)
                ]
                for source in sources
            ]

        def risk_first[T: _Keyed](
            chosen: list[tuple[T, Source]], attribute: str
        ) -> list[tuple[T, Source]]:
            """Safety planning and risk monitoring first, whatever the length."""
            if risk is None:
                return chosen
            first = [(item, extra_source) for item in getattr(risk, attribute)]
            keys = {item.key for item, _ in first}
            return first + [(item, source) for item, source in chosen if item.key not in keys]

        def with_extras[T: _Keyed](
            chosen: list[tuple[T, Source]], attribute: str
        ) -> list[tuple[T, Source]]:
            for addition in extras:
                chosen = _add(chosen, getattr(addition, attribute), extra_source)
            return chosen

        problems: list[tuple[Element, Source]] = risk_first(
            _pick(groups("problems"), limits.problems), "problems"
        )
        goals: list[tuple[Element, Source]] = risk_first(
            with_extras(_pick(groups("goals"), limits.goals), "goals"), "goals"
        )
        objectives: list[tuple[Objective, Source]] = with_extras(
            _pick(groups("objectives"), limits.objectives), "objectives"
        )
        objectives.sort(key=lambda pair: pair[0].weeks)  # stable: ties keep their order
        objectives = risk_first(objectives, "objectives")
        interventions: list[tuple[Intervention, Source]] = risk_first(
            with_extras(_pick(groups("interventions"), limits.interventions), "interventions"),
            "interventions",
        )
        if risk is not None:  # the general risk intervention would say the same again
            interventions = [(i, s) for i, s in interventions if i.short != "Risk"]
        discharge: list[tuple[Element, Source]] = risk_first(
            with_extras(_pick(groups("discharge"), limits.discharge), "discharge"), "discharge"
        )

        sections = [
            self._context(plan_input, limits, tone),
            self._problems(problems, voice, limits),
            self._goals(goals, voice, limits),
            self._objectives(objectives, voice, limits, plan_input),
            self._interventions(interventions, voice, limits),
            self._frequency(sources, extras, voice, limits),
            self._discharge(discharge, voice),
        ]
        return _render(HEADINGS[tone]["title"], sections, options.format)

    def _sources(self, plan_input: PlanInput) -> list[Source]:
        """The families to draw on, in diagnosis order (primary first), each once."""
        by_key: dict[str, tuple[Family, list[str], list[str]]] = {}
        for code, description in plan_input.diagnoses:
            family = self.knowledge.family_for(code) or self.knowledge.general
            entry = by_key.setdefault(family.key, (family, [], []))
            entry[1].append(code)
            entry[2].append(description)
        sources = [
            Source(family, tuple(codes), " and ".join(descriptions))
            for family, codes, descriptions in by_key.values()
        ]
        substance = next((f for f in self.knowledge.families if f.key == SUBSTANCE_FAMILY), None)
        if (
            substance is not None
            and substance.key not in by_key
            and describes_substance_use(plan_input)
        ):
            # Described but not diagnosed ("2-3 beers most evenings to sleep"): a problem to
            # work on, right after the primary diagnosis so that every length keeps it.
            sources.insert(1, Source(substance, (), "the substance use described"))
        if not sources:
            general = self.knowledge.general
            return [Source(general, (), "the presenting difficulties")]
        return sources

    # Sections -------------------------------------------------------------------------------
    @staticmethod
    def _why(text: str, voice: Voice, limits: Limits) -> str:
        """The rationale sentence (Long only), as HTML; empty otherwise."""
        return voice.html(_sentence(text)) if limits.rationale and text else ""

    @staticmethod
    def _labelled(why: str, label: str) -> str:
        return f" <em>{label}:</em> {why}" if why else ""

    def _context(self, plan_input: PlanInput, limits: Limits, tone: str) -> Section:
        labels = CONTEXT_LABELS[tone]
        entries: list[tuple[str, str]] = [(labels["start"], format_date(plan_input.start_date))]
        entries.append((labels["client"], _client_line(plan_input, tone)))
        entries.append((labels["diagnoses"], _diagnoses_line(plan_input.diagnoses, tone)))
        if plan_input.presenting_concerns:
            entries.append(
                (labels["concerns"], _clip(plan_input.presenting_concerns, limits.context_chars))
            )
        if limits.history and plan_input.history:
            entries.append((labels["history"], _clip(plan_input.history, limits.context_chars)))
        if plan_input.medications:
            entries.append((labels["medications"], "; ".join(plan_input.medications)))
        elif limits.rationale:
            entries.append((labels["medications"], "none recorded"))
        for index, note in enumerate(plan_input.recent_notes[: limits.notes]):
            label = labels["latest_note"] if index == 0 else labels["earlier_note"]
            entries.append((label, _clip(note, limits.context_chars)))
        items = [
            f"<strong>{escape(label)}:</strong> {escape(_sentence(text), quote=False)}"
            for label, text in entries
        ]
        return Section(
            HEADINGS[tone]["context"], items=items, prose=" ".join(items), paragraphs=True
        )

    def _problems(
        self, chosen: list[tuple[Element, Source]], voice: Voice, limits: Limits
    ) -> Section:
        items, phrases, rationales = [], [], []
        for item, source in chosen:
            local = Voice(voice.tone, source.diagnosis, voice.medications)
            why = self._why(item.rationale, voice, limits)
            rationales.append(why)
            rationale = self._labelled(why, PROBLEM_RATIONALE_LABEL[voice.tone])
            if voice.tone == "clinical":
                codes = f" ({', '.join(source.codes)})" if source.codes else ""
                phrase = local.html(item.clinical) + escape(codes)
                items.append(_sentence(phrase) + rationale)
            elif voice.second_person:
                phrase = _lcfirst(local.html(item.text))
                items.append(f"You have been dealing with {phrase}." + rationale)
            else:
                phrase = _lcfirst(local.html(item.text))
                items.append(_sentence(_ucfirst(phrase)) + rationale)
            phrases.append(phrase)
        if voice.tone == "clinical":
            prose = "Problem list: " + "; ".join(phrases) + "."
        elif voice.second_person:
            prose = f"We will be working on {_join(phrases)}."
        else:
            prose = f"This plan addresses {_join(phrases)}."
        return Section(
            HEADINGS[voice.tone]["problems"], items=items, prose=_with(prose, rationales)
        )

    def _goals(self, chosen: list[tuple[Element, Source]], voice: Voice, limits: Limits) -> Section:
        items, phrases, rationales = [], [], []
        for item, _source in chosen:
            why = self._why(item.rationale, voice, limits)
            rationales.append(why)
            rationale = self._labelled(why, RATIONALE_LABEL[voice.tone])
            if voice.tone == "clinical":
                phrase = voice.html(item.clinical)
                items.append(_sentence(phrase) + rationale)
            else:
                phrase = voice.html(item.text)
                subject = "You" if voice.second_person else "The client"
                items.append(f"{subject} will {_sentence(phrase)}" + rationale)
            phrases.append(phrase)
        if voice.tone == "clinical":
            prose = "LTG: " + "; ".join(phrases) + "."
        elif voice.second_person:
            prose = f"Over time, you will {_join(phrases)}."
        else:
            prose = f"Over the course of treatment, the client will {_join(phrases)}."
        return Section(HEADINGS[voice.tone]["goals"], items=items, prose=_with(prose, rationales))

    def _objectives(
        self,
        chosen: list[tuple[Objective, Source]],
        voice: Voice,
        limits: Limits,
        plan_input: PlanInput,
    ) -> Section:
        items, sentences = [], []
        for item, _source in chosen:
            due = escape(format_date(plan_input.start_date + timedelta(weeks=item.weeks)))
            text = voice.html(item.text)
            measure = voice.html(item.measure)
            why = self._why(item.rationale, voice, limits)
            rationale = self._labelled(why, RATIONALE_LABEL[voice.tone])
            plain_why = f" {why}" if why else ""
            if voice.tone == "clinical":
                terse = _strip_article(measure)
                items.append(f"{voice.html(item.clinical)}: {terse}; by {due}." + rationale)
                sentences.append(f"{voice.html(item.clinical)} ({terse}) by {due}")
            elif voice.second_person:
                items.append(
                    f"You will {text} by {due}. We will know it is working when we see "
                    f"{measure}." + rationale
                )
                sentences.append(
                    f"By {due}, you will {text}; we will know it is working when we see "
                    f"{measure}." + plain_why
                )
            else:
                items.append(
                    f"The client will {text}, as shown by {measure}, by {due}." + rationale
                )
                sentences.append(
                    f"By {due}, the client will {text}, as shown by {measure}." + plain_why
                )
        if voice.tone == "clinical":
            prose = "STO: " + "; ".join(sentences) + "."
        else:
            prose = " ".join(sentences)
        return Section(HEADINGS[voice.tone]["objectives"], items=items, prose=prose, ordered=True)

    def _interventions(
        self, chosen: list[tuple[Intervention, Source]], voice: Voice, limits: Limits
    ) -> Section:
        items, sentences = [], []
        for item, _source in chosen:
            name = escape(item.name)
            text = voice.html(item.text)
            why = self._why(item.rationale, voice, limits)
            rationale = self._labelled(why, RATIONALE_LABEL[voice.tone])
            plain_why = f" {why}" if why else ""
            if voice.tone == "clinical":
                clinical = voice.html(item.clinical)
                items.append(f"<strong>{escape(item.short)}</strong>: {clinical}." + rationale)
                sentences.append(f"<strong>{escape(item.short)}</strong> ({clinical})")
            elif voice.second_person:
                items.append(f"<strong>{name}</strong>: together we will {text}." + rationale)
                sentences.append(
                    f"We will use <strong>{_lcfirst(name)}</strong> to {text}." + plain_why
                )
            else:
                items.append(f"<strong>{name}</strong>: {_ucfirst(text)}." + rationale)
                sentences.append(f"<strong>{name}</strong> will be used to {text}." + plain_why)
        if voice.tone == "clinical":
            prose = "Interventions: " + "; ".join(sentences) + "."
        else:
            prose = " ".join(sentences)
        return Section(HEADINGS[voice.tone]["interventions"], items=items, prose=prose)

    def _frequency(
        self, sources: list[Source], extras: list[Addition], voice: Voice, limits: Limits
    ) -> Section:
        frequencies: list[Frequency] = [sources[0].family.frequency]
        frequencies += [extra.frequency for extra in extras if extra.frequency is not None]
        items = []
        for index, frequency in enumerate(frequencies):
            if voice.tone == "clinical":
                items.append(voice.html(frequency.clinical))
            elif voice.second_person:
                plain = voice.html(frequency.plain)
                items.append(_sentence(f"We will meet {plain}" if index == 0 else plain))
            else:
                items.append(voice.html(frequency.text))
        others = [source.family.label for source in sources[1:] if source.family.key != "general"]
        if limits.rationale and others:
            labels = escape(_join([_lcfirst(label) for label in others]))
            if voice.tone == "clinical":
                items.append(f"Review frequency/session length for comorbid {labels}.")
            elif voice.second_person:
                items.append(
                    f"We will look again at how often we meet when we start work on {labels}."
                )
            else:
                items.append(
                    f"Frequency and session length will be reviewed when work on {labels} begins."
                )
        return Section(
            HEADINGS[voice.tone]["frequency"], items=items, prose=" ".join(items), paragraphs=True
        )

    def _discharge(self, chosen: list[tuple[Element, Source]], voice: Voice) -> Section:
        items, phrases = [], []
        for item, _source in chosen:
            if voice.tone == "clinical":
                phrase = voice.html(item.clinical)
                items.append(_sentence(phrase))
            elif voice.second_person:
                phrase = _lcfirst(voice.html(item.text))
                items.append(f"We will plan to finish when {phrase}.")
            else:
                phrase = _lcfirst(voice.html(item.text))
                items.append(_sentence(_ucfirst(phrase)))
            phrases.append(phrase)
        if voice.tone == "clinical":
            prose = "D/C criteria: " + "; ".join(phrases) + "."
        elif voice.second_person:
            prose = f"We will plan to finish when {_join(phrases)}."
        else:
            prose = f"Discharge will be considered when {_join(phrases)}."
        return Section(HEADINGS[voice.tone]["discharge"], items=items, prose=prose)


def _primary_protocol(sources: Sequence[Source], is_child: bool) -> str:
    """The one trauma-focused protocol (CPT, PE, EMDR or TF-CBT) this plan uses: the first
    the knowledge base lists for the client's age group."""
    for source in sources:
        for item in _for_audience(source.family.interventions, is_child):
            if item.protocol:
                return item.protocol
    return ""


def _with(prose: str, rationales: list[str]) -> str:
    extra = " ".join(rationale for rationale in rationales if rationale)
    return f"{prose} {extra}" if extra else prose


def _client_line(plan_input: PlanInput, tone: str) -> str:
    band = plan_input.age_band
    if tone == "clinical":
        who = "Minor" if plan_input.is_child else "Adult"
        age = band or "age n/r"
        family = "; caregiver involved in tx" if plan_input.is_child else ""
        return f"{who}, {age}{family}"
    if tone == "conversational":
        age = f"You are in the {band} age group" if band else "Your age is not recorded"
        family = (
            ", and a parent or caregiver will take part in your treatment"
            if plan_input.is_child
            else ""
        )
        return age + family
    who = "Child or adolescent" if plan_input.is_child else "Adult"
    age = f"age band {band}" if band else "age not recorded"
    family = "; a parent or caregiver takes part in treatment" if plan_input.is_child else ""
    return f"{who}, {age}{family}"


def _diagnoses_line(diagnoses: list[tuple[str, str]], tone: str) -> str:
    if not diagnoses:
        return {
            "professional": "no active diagnosis recorded",
            "conversational": "no diagnosis is recorded yet",
            "clinical": "none active",
        }[tone]
    parts = []
    for index, (code, description) in enumerate(diagnoses):
        primary = " (primary)" if index == 0 and len(diagnoses) > 1 else ""
        parts.append(f"{code} {description}{primary}")
    return "; ".join(parts)


__all__ = ["KnowledgeBaseGenerator"]
