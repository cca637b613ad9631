"""client_add on behalf of a clinician (a practice admin's import), with details, unsent."""

from __future__ import annotations

from datetime import date

import pytest

from caseload.clients import services
from caseload.clients.models import CareRelationship
from tests.factories import PracticeFactory, staff

pytestmark = pytest.mark.django_db


def add(actor, therapist, **kwargs):
    return services.client_add(
        actor=actor,
        therapist=therapist,
        full_name="Lena Ortiz",
        email="lena@example.com",
        billing_type="insurance",
        **kwargs,
    )


def test_a_practice_admin_adds_to_a_clinicians_caseload(therapist, practice_admin):
    added = add(
        practice_admin,
        therapist,
        details={"phone": "+1 415-555-0100", "date_of_birth": date(1990, 4, 2)},
        send_invitation=False,
    )
    relationship = CareRelationship.objects.get(pk=added.relationship.pk)
    assert relationship.therapist == therapist
    assert (relationship.phone, relationship.date_of_birth) == ("+1 415-555-0100", date(1990, 4, 2))
    assert added.invitation.sent_count == 0


@pytest.mark.parametrize("who", ["colleague", "supervisor"])
def test_only_a_practice_admin_adds_for_someone_else(request, therapist, who):
    with pytest.raises(services.ClientServiceError):
        add(request.getfixturevalue(who), therapist)
    assert not CareRelationship.objects.exists()


def test_an_admin_cant_add_for_another_practice_or_for_an_admin(practice_admin, outsider):
    with pytest.raises(services.ClientServiceError):
        add(practice_admin, outsider)
    other_admin = staff(practice_admin.membership.practice, "admin", email="a2@example.com")
    with pytest.raises(services.ClientServiceError):
        add(practice_admin, other_admin)
    elsewhere = staff(PracticeFactory(), "admin", email="a3@example.com")
    with pytest.raises(services.ClientServiceError):
        add(elsewhere, outsider)


def test_details_take_profile_fields_only(therapist):
    with pytest.raises(ValueError, match="state"):
        services.client_add(
            actor=therapist,
            full_name="Lena Ortiz",
            email="lena@example.com",
            details={"state": "active"},
        )
