"""What a feature app contributes to the client workspace, without importing it.

The care core defines the shapes; each feature app (clinical, visits, plans, documents,
messaging) declares its profile section(s) and attention signals in its own `sections.py`;
`caseload.workspace.registry` lists them, in order, in one explicit place. Feature apps never
import the workspace, and the workspace never imports a feature app's views.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Expression, Subquery

#: `(viewer, relationship, audit_context)`; a paged section's context also takes `before=`.
SectionContext = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class ProfileSection:
    """One section of the client profile: its anchor, its title, a template and a context.

    `context(viewer, relationship, audit_context)` receives a relationship that came through
    the access gate (`relationship.access` is set) and returns what the template needs.
    Only sections shown are computed; a section whose read is audited audits it there.
    """

    key: str  # the tab's URL segment and URL name: /clients/<id>/<key>/, `workspace:<key>`
    title: str  # the tab's name, as the brief words it
    template: str
    context: SectionContext
    #: Shown only when the record can be read (not while a client is awaiting approval).
    needs_record: bool = True
    #: What the Overview tab shows of this section: a small context (one key, named
    #: `<key>_overview`) and its template, which links to the section's tab.
    overview: SectionContext | None = None
    overview_template: str = ""
    #: The tab's history is paged: `context` also takes `before=` (the cursor from the URL).
    paged: bool = False


@dataclass(frozen=True)
class AttentionSignal:
    """One badge-like fact about a care relationship, as an annotation of the list query.

    `expression()` returns an expression correlated to the relationship (`OuterRef("pk")`);
    the workspace annotates the client list with it under `name`, in the same query.
    """

    name: str
    expression: Callable[[], Expression | Subquery]
