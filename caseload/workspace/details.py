"""The care core's own profile sections (Personal Information, Emergency Contact,
Preferences) and its attention signals (invitation delivery, awaiting approval)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils import timezone

from caseload.accounts.models import User
from caseload.clients.forms import EmergencyContactForm, PersonalInformationForm, PreferencesForm
from caseload.clients.models import CareRelationship, Invitation
from caseload.clients.sections import AttentionSignal, ProfileSection
from caseload.lib.email import undelivered
from caseload.lib.http import AuditContext

DetailsForm = PersonalInformationForm | EmergencyContactForm | PreferencesForm
DETAIL_FORMS = ("personal", "emergency", "preferences")


def details_form(section: str, relationship: CareRelationship, data: Any = None) -> DetailsForm:
    """The form of one details section, bound to `data` when given."""
    if section == "preferences":
        return PreferencesForm(data, instance=relationship, practice=relationship.practice)
    if section == "emergency":
        return EmergencyContactForm(data, instance=relationship)
    return PersonalInformationForm(data, instance=relationship)


def _no_context(
    viewer: User, relationship: CareRelationship, audit_context: AuditContext
) -> dict[str, Any]:
    return {}  # the workspace view builds the details forms (a refused one keeps its errors)


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def details_overview(
    viewer: User, relationship: CareRelationship, audit_context: AuditContext
) -> dict[str, Any]:
    """Who the client is, at a glance: age and date of birth, pronouns, phone, email, billing."""
    client = relationship.client
    born = relationship.date_of_birth
    return {
        "personal_overview": {
            "date_of_birth": born,
            "age": age_on(born, timezone.localdate()) if born else None,
            "pronouns": relationship.pronouns,
            "phone": relationship.phone,
            "email": client.guardianship.email if client.is_child else client.email,
            "is_child": client.is_child,
            "billing_type": relationship.get_billing_type_display(),
            "billing_enabled": relationship.practice.billing_enabled,
        }
    }


SECTIONS = [
    ProfileSection(
        "personal",
        "Personal Information",
        "workspace/partials/_section_personal.html",
        _no_context,
        overview=details_overview,
        overview_template="workspace/partials/_overview_personal.html",
    ),
    ProfileSection(
        "emergency", "Emergency Contact", "workspace/partials/_section_emergency.html", _no_context
    ),
    ProfileSection(
        "preferences", "Preferences", "workspace/partials/_section_preferences.html", _no_context
    ),
]


def _outstanding() -> Any:
    return Invitation.objects.outstanding().filter(relationship=OuterRef("pk"))


ATTENTION = [
    AttentionSignal(
        "delivery_problem",
        lambda: Exists(_outstanding().filter(undelivered())),
    ),
]
