"""The exact text a client completes and signs, and checking it later (DOC-3).

`completed_text` is a pure function of the template version and the answers, so the stored
text can be rebuilt from the stored answers at any time: verification recomputes both the
text and its SHA-256 and compares them with what was stored at submission.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from caseload.documents.fields import FieldType, display_answer

if TYPE_CHECKING:
    from caseload.documents.models import AssignedDocument

CONSENT_TEXT = (
    "I agree that typing my full name below is my electronic signature on this document, "
    "with the same effect as a handwritten signature."
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def completed_text(
    *, title: str, intro: str, fields: list[dict[str, Any]], answers: dict[str, Any]
) -> str:
    lines = [title, "=" * len(title)]
    if intro.strip():
        lines += ["", intro.strip()]
    for spec in fields:
        lines.append("")
        if spec["type"] == FieldType.SIGNATURE:
            lines.append(f"[Signature] {spec['label']}")
            continue
        lines.append(spec["label"])
        lines.append(f"Answer: {display_answer(spec, answers.get(spec['key']))}")
    return "\n".join(lines) + "\n"


def signed_text(*, content: str, typed_name: str, signer_email: str, consent_text: str) -> str:
    return (
        f"{content}\n{consent_text}\nSigned electronically by: {typed_name} "
        f"(account {signer_email})\n"
    )


@dataclass(frozen=True)
class Verification:
    ok: bool
    problems: tuple[str, ...]


def verify(document: AssignedDocument) -> Verification:
    """Rebuild what was completed (and signed) from the stored record and compare hashes."""
    problems: list[str] = []
    if not document.is_submitted:
        return Verification(ok=False, problems=("The document has not been submitted.",))
    version = document.version
    rebuilt = completed_text(
        title=version.title, intro=version.intro, fields=version.fields, answers=document.answers
    )
    if rebuilt != document.content:
        problems.append("The stored answers do not match the stored document text.")
    if sha256(document.content) != document.content_sha256:
        problems.append("The stored document text does not match its SHA-256.")
    signature = getattr(document, "signature", None)
    if version.requires_signature:
        if signature is None:
            problems.append("The document needs a signature and has none.")
        else:
            expected = signed_text(
                content=document.content,
                typed_name=signature.typed_name,
                signer_email=signature.signer_email,
                consent_text=signature.consent_text,
            )
            if expected != signature.content:
                problems.append("The signed text does not match the stored document.")
            if sha256(signature.content) != signature.sha256:
                problems.append("The signed text does not match the signature's SHA-256.")
    return Verification(ok=not problems, problems=tuple(problems))
