"""Account pages look finished: Caseload's layout, the practice's name, plain labels."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import override_settings

from caseload.clients import services
from caseload.portal.adapter import SESSION_INVITATION_KEY

pytestmark = pytest.mark.django_db

RULE = "Use at least 8 characters: not only numbers, not a common password, and not close"


def _signup_page(client: Any, therapist: Any) -> str:
    invitation = services.client_add(
        actor=therapist, full_name="Nora Quinn", email="nora@example.com"
    ).invitation
    session = client.session
    session[SESSION_INVITATION_KEY] = str(invitation.public_id)
    session.save()
    return client.get("/accounts/signup/").content.decode()


def test_sign_up_names_the_practice_and_states_the_password_rule_once(
    client: Any, therapist: Any
) -> None:
    html = _signup_page(client, therapist)

    assert f'<p class="practice-name">{therapist.membership.practice.name}</p>' in html
    assert RULE in html
    assert "<li>Your password" not in html  # Django's four bullet points are gone
    labels = re.findall(r"<label[^>]*>([^<]*)", html)
    assert "Password" in [label.strip() for label in labels]
    assert not any(label.strip().endswith(":") for label in labels)


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/accounts/password/reset/", "/accounts/signup/"]
)
def test_account_pages_have_labels_without_colons_and_a_favicon(client: Any, url: str) -> None:
    html = client.get(url).content.decode()

    labels = re.findall(r"<label[^>]*>([^<]*)", html)
    assert not any(label.strip().endswith(":") for label in labels), labels
    assert 'rel="icon" href="/static/caseload/favicon.svg"' in html


def test_staff_account_pages_name_their_practice(therapist: Any, signed_in: Any) -> None:
    html = signed_in(therapist).get("/accounts/email/").content.decode()

    assert f'<p class="practice-name">{therapist.membership.practice.name}</p>' in html


@pytest.mark.parametrize(
    ("persona", "shown"),
    [("therapist", True), ("practice_admin", True), ("client_user", False), (None, False)],
)
def test_the_outbox_link_is_for_staff_in_debug_only(
    request: Any, rf: Any, persona: str | None, shown: bool
) -> None:
    from django.contrib.auth.models import AnonymousUser

    from caseload.workspace.context_processors import navigation

    page = rf.get("/")
    page.user = request.getfixturevalue(persona) if persona else AnonymousUser()
    with override_settings(DEBUG=True):
        assert navigation(page)["show_outbox"] is shown
    with override_settings(DEBUG=False):
        assert navigation(page)["show_outbox"] is False
