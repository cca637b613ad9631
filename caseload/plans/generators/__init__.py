"""Treatment-plan generators (TP-2, TP-3) behind one small interface.

    plan_input = build_plan_input(relationship, start_date=date)   # de-identified
    html = get_generator().generate(plan_input, PlanOptions(length=…, tone=…, format=…))

`get_generator()` returns the OpenAI-compatible provider when PLAN_AI_BASE_URL is set (in
settings or the environment; with PLAN_AI_MODEL, PLAN_AI_API_KEY and PLAN_AI_TIMEOUT in
seconds, default 30), otherwise the offline knowledge-base generator. Failures raise
GenerationError, whose text is a sentence for the therapist.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings

from caseload.plans.generators.base import (
    ALLOWED_TAGS,
    FORMATS,
    LENGTHS,
    TONES,
    GenerationError,
    PlanGenerator,
    PlanInput,
    PlanOptions,
)
from caseload.plans.generators.deidentify import build_plan_input
from caseload.plans.generators.knowledge_base import KnowledgeBaseGenerator
from caseload.plans.generators.openai_compatible import OpenAICompatibleGenerator, build_messages

DEFAULT_TIMEOUT = 30.0

__all__ = [
    "ALLOWED_TAGS",
    "FORMATS",
    "LENGTHS",
    "TONES",
    "GenerationError",
    "KnowledgeBaseGenerator",
    "OpenAICompatibleGenerator",
    "PlanGenerator",
    "PlanInput",
    "PlanOptions",
    "build_plan_input",
    "get_generator",
    "input_digest",
    "review_messages",
    "sends_outside",
]


def _setting(name: str) -> str:
    """The setting (settings.py reads it from the environment variable of the same name)."""
    value: Any = getattr(settings, name, None)
    return "" if value is None else str(value).strip()


def _timeout() -> float:
    raw = _setting("PLAN_AI_TIMEOUT")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def get_generator() -> PlanGenerator:
    """The configured generator: the AI provider if PLAN_AI_BASE_URL is set, else offline."""
    base_url = _setting("PLAN_AI_BASE_URL")
    if base_url:
        return OpenAICompatibleGenerator(
            base_url=base_url,
            model=_setting("PLAN_AI_MODEL"),
            api_key=_setting("PLAN_AI_API_KEY"),
            timeout=_timeout(),
        )
    return KnowledgeBaseGenerator()


def sends_outside() -> bool:
    """Whether "Generate with AI" sends the record's de-identified text out of the practice."""
    return bool(_setting("PLAN_AI_BASE_URL"))


def review_messages(plan_input: PlanInput, options: PlanOptions) -> list[dict[str, str]]:
    """Exactly the messages the outside AI service will be sent for this input and options."""
    return build_messages(plan_input, options)


def input_digest(plan_input: PlanInput) -> str:
    """A fingerprint of a reviewed input: the send goes ahead only if it is still the same."""
    text = json.dumps(plan_input.to_dict(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
