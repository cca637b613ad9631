"""The access gate decides once: what each persona may do with a care relationship."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404

from caseload.clients import services
from caseload.clients.access import (
    RecordAccess,
    access_for,
    get_relationship_for_user,
    record_closed_reason,
)
from caseload.messaging.selectors import availability
from tests.factories import account, active_relationship, pending_relationship

pytestmark = pytest.mark.django_db


def test_the_owner_may_read_and_write_an_active_record(therapist: Any, active_client: Any) -> None:
    relationship = get_relationship_for_user(therapist, active_client.public_id, write=True)

    assert relationship.access == RecordAccess(
        is_owner=True,
        is_supervisor=False,
        awaiting_approval=False,
        record_open=True,
        messaging_open=True,
    )
    assert relationship.access.can_read and relationship.access.can_write


def test_the_supervisor_reads_but_never_writes(supervisor: Any, active_client: Any) -> None:
    access = get_relationship_for_user(supervisor, active_client.public_id).access

    assert access.is_supervisor and access.can_read
    assert not access.is_owner and not access.can_write and not access.messaging_open
    with pytest.raises(Http404):
        get_relationship_for_user(supervisor, active_client.public_id, write=True)


@pytest.mark.parametrize("persona", ["colleague", "outsider", "practice_admin", "client_user"])
def test_everyone_else_meets_a_404(request: Any, persona: str, active_client: Any) -> None:
    user = request.getfixturevalue(persona)

    with pytest.raises(Http404):
        get_relationship_for_user(user, active_client.public_id)


def test_an_archived_record_is_readable_but_closed(therapist: Any, active_client: Any) -> None:
    services.relationship_archive(relationship=active_client, actor=therapist)

    relationship = get_relationship_for_user(therapist, active_client.public_id)
    access = relationship.access

    assert access.can_read and not access.record_open and not access.can_write
    assert record_closed_reason(relationship) == "Restore this client before changing their record."


def test_a_connection_request_opens_only_the_profile_card(therapist: Any) -> None:
    account("erin@example.com", "Erin Existing")
    waiting = pending_relationship(therapist, full_name="Erin Existing", email="erin@example.com")

    with pytest.raises(Http404):
        get_relationship_for_user(therapist, waiting.public_id)
    card = get_relationship_for_user(therapist, waiting.public_id, record=False)
    assert card.access.awaiting_approval and card.access.can_manage
    assert not card.access.can_read and not card.access.can_write


def test_an_archived_client_asked_to_reconnect_is_awaiting_approval(therapist: Any) -> None:
    former = active_relationship(therapist, full_name="Nora Fischer", email="nora@example.com")
    services.relationship_archive(relationship=former, actor=therapist)
    services.relationship_restore(relationship=former, actor=therapist)
    former.refresh_from_db()

    with pytest.raises(Http404):
        get_relationship_for_user(therapist, former.public_id)
    assert get_relationship_for_user(therapist, former.public_id, record=False).access == (
        access_for(therapist, former)
    )
    assert access_for(therapist, former).awaiting_approval


@pytest.mark.parametrize("change", ["none", "messaging off", "archived", "not signed up"])
def test_messaging_open_agrees_with_what_messaging_lets_the_therapist_send(
    therapist: Any, active_client: Any, change: str
) -> None:
    relationship = active_client
    if change == "messaging off":
        services.relationship_update_details(
            relationship=relationship,
            section="preferences",
            values={"messaging_enabled": False},
            actor=therapist,
        )
    elif change == "archived":
        services.relationship_archive(relationship=relationship, actor=therapist)
    elif change == "not signed up":
        relationship = pending_relationship(therapist, full_name="Pat", email="pat@example.com")

    gated = get_relationship_for_user(therapist, relationship.public_id)

    assert gated.access.messaging_open == availability(gated).can_send
    assert gated.access.messaging_open == (change == "none")


def test_write_refusal_names_the_owner_rule_then_the_record_rule(
    therapist: Any, supervisor: Any, active_client: Any
) -> None:
    from caseload.clients.access import write_refusal

    assert write_refusal(therapist, active_client, not_owner="Not yours.") is None
    assert write_refusal(supervisor, active_client, not_owner="Not yours.") == "Not yours."
    archived = services.relationship_archive(relationship=active_client, actor=therapist)
    assert write_refusal(therapist, archived, not_owner="Not yours.") == (
        "Restore this client before changing their record."
    )
