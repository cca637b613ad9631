"""Two-factor sign-in for staff (SECURITY U1): a practice setting, enforced at sign-in and on
the Django admin; every wrong or refused code audited, never the code itself."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core.cache import cache
from django.test import Client as Browser

from caseload.audit.models import AuditEvent
from caseload.practices.models import Practice
from tests.factories import PASSWORD, staff

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache(db: None) -> Any:
    """Rate limits and used TOTP codes live in the (database) cache."""
    cache.clear()
    yield
    cache.clear()


def totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def wrong_code(secret: str) -> str:
    return "000000" if totp_now(secret) != "000000" else "111111"


def with_totp(user: Any) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


@pytest.fixture
def required(practice: Practice) -> Practice:
    practice.staff_two_factor_required = True
    practice.save(update_fields=["staff_two_factor_required"])
    return practice


def sign_in(browser: Browser, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return browser.post("/accounts/login/", {"login": email, "password": password}, **extra)


# The practice setting ---------------------------------------------------------------------
def test_practice_admin_turns_the_setting_on(practice, practice_admin, signed_in):
    browser = signed_in(practice_admin)
    page = browser.get("/practice/").content.decode()
    assert "Require two-factor sign-in for staff" in page

    response = browser.post(
        "/practice/",
        {
            "name": practice.name,
            "time_zone": practice.time_zone,
            "staff_two_factor_required": "on",
            "booking_weeks_ahead": "4",
            "cancellation_window_hours": "24",
            "reminders": "off",
        },
    )

    assert response.status_code == 302
    practice.refresh_from_db()
    assert practice.staff_two_factor_required is True
    event = AuditEvent.objects.get(action="practice.update_settings")
    assert "staff_two_factor_required" in event.detail["fields"]
    # The admin is staff too: the next page asks them to set up their own factor.
    assert browser.get("/practice/")["Location"] == "/accounts/2fa/"


def test_clinician_without_a_factor_is_made_to_set_up_totp_then_reaches_my_clients(
    required, therapist, django_capture_on_commit_callbacks
):
    browser = Browser()

    signed_in = sign_in(browser, "alice@example.com")
    assert signed_in.status_code == 302
    landing = browser.get(signed_in["Location"])

    # Sent to set up a second factor, and nothing else opens until they have.
    assert landing.status_code == 302
    assert landing["Location"] == "/accounts/2fa/"
    for path in ("/clients/", "/sessions/", "/", "/django-admin/"):
        blocked = browser.get(path)
        assert blocked.status_code == 302, path
        assert blocked["Location"] == "/accounts/2fa/", path
    htmx = browser.get("/clients/", HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"] == "/accounts/2fa/"
    index = browser.get("/accounts/2fa/")
    assert index.status_code == 200
    assert index.content.decode().count("requires two-factor sign-in for staff") == 1

    # allauth asks for the password again before a factor is added.
    reauthenticate = browser.get("/accounts/2fa/totp/activate/")
    assert reauthenticate["Location"].startswith("/accounts/reauthenticate/")
    assert browser.get(reauthenticate["Location"]).status_code == 200
    confirmed = browser.post(reauthenticate["Location"], {"password": PASSWORD})
    assert confirmed["Location"] == "/accounts/2fa/totp/activate/"
    setup = browser.get("/accounts/2fa/totp/activate/")
    assert setup.status_code == 200
    html = setup.content.decode()
    assert 'src="data:image/svg+xml' in html  # the QR code (CSP img-src allows data:)
    secret = setup.context["form"].secret
    wrong = browser.post("/accounts/2fa/totp/activate/", {"code": wrong_code(secret)})
    assert wrong.status_code == 200
    assert browser.get("/clients/")["Location"] == "/accounts/2fa/"

    with django_capture_on_commit_callbacks(execute=True):
        activated = browser.post("/accounts/2fa/totp/activate/", {"code": totp_now(secret)})

    assert activated.status_code == 302
    assert activated["Location"] == "/accounts/2fa/recovery-codes/"
    codes_page = browser.get("/accounts/2fa/recovery-codes/").content.decode()
    assert "/accounts/2fa/recovery-codes/download/" in codes_page
    download = browser.get("/accounts/2fa/recovery-codes/download/")
    assert download.status_code == 200
    assert len(re.findall(r"^\d{8}$", download.content.decode(), re.M)) == 10
    my_clients = browser.get("/clients/")
    assert my_clients.status_code == 200
    assert "My Clients" in my_clients.content.decode()
    added = AuditEvent.objects.filter(action="auth.second_factor_add", actor=therapist)
    assert {event.detail["type"] for event in added} == {"totp", "recovery_codes"}


def test_next_sign_in_asks_for_the_code(required, therapist):
    secret = with_totp(therapist)
    browser = Browser()

    response = sign_in(browser, "alice@example.com")

    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in browser.session
    done = browser.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)})
    assert done.status_code == 302
    assert browser.get("/clients/").status_code == 200


def test_setting_off_asks_nothing(practice, therapist, signed_in):
    assert signed_in(therapist).get("/clients/").status_code == 200


def test_clients_and_guardians_are_not_affected(required, client_user, guardian_user, signed_in):
    assert signed_in(client_user).get("/portal/").status_code == 200
    assert signed_in(guardian_user).get("/portal/").status_code == 200


def test_other_practices_staff_are_not_affected(required, outsider, signed_in):
    assert signed_in(outsider).get("/clients/").status_code == 200


def test_an_api_token_made_before_the_rule_stops_until_a_factor_is_set_up(
    practice, therapist, outsider
):
    from caseload.api.services import token_create

    def token(user: Any) -> Browser:
        secret = token_create(actor=user, name="Sync", scope="read", expires_in_days=30).secret
        return Browser(headers={"Authorization": f"Bearer {secret}"})

    api, others = token(therapist), token(outsider)
    assert api.get("/api/v1/clients").status_code == 200
    practice.staff_two_factor_required = True
    practice.save(update_fields=["staff_two_factor_required"])

    refused = api.get("/api/v1/clients")
    assert refused.status_code == 403
    assert "two-factor" in refused.json()["detail"]
    assert others.get("/api/v1/clients").status_code == 200  # another practice: no rule
    with_totp(therapist)
    assert api.get("/api/v1/clients").status_code == 200


def test_a_required_authenticator_app_cannot_be_deactivated(required, therapist):
    secret = with_totp(therapist)
    browser = Browser()
    sign_in(browser, "alice@example.com")
    browser.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)})
    browser.post("/accounts/reauthenticate/", {"password": PASSWORD})

    page = browser.get("/accounts/2fa/totp/deactivate/")
    response = browser.post("/accounts/2fa/totp/deactivate/", {})

    assert page.status_code == 200
    assert response.status_code == 200
    assert "cannot deactivate" in response.content.decode()
    assert Authenticator.objects.filter(user=therapist, type="totp").exists()


def test_new_recovery_codes_and_a_removed_app_are_audited_by_type(
    practice, therapist, django_capture_on_commit_callbacks
):
    secret = with_totp(therapist)
    browser = Browser()
    sign_in(browser, "alice@example.com")
    browser.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)})
    browser.post("/accounts/reauthenticate/", {"password": PASSWORD})

    with django_capture_on_commit_callbacks(execute=True):  # allauth signals after commit
        browser.post("/accounts/2fa/recovery-codes/generate/", {})
        browser.post("/accounts/2fa/totp/deactivate/", {})

    events = AuditEvent.objects.filter(actor=therapist, action__startswith="auth.second_factor_")
    assert {(event.action, json.dumps(event.detail)) for event in events} >= {
        ("auth.second_factor_reset", json.dumps({"type": "recovery_codes"})),
        ("auth.second_factor_remove", json.dumps({"type": "totp"})),
    }


# The Django admin --------------------------------------------------------------------------
@pytest.fixture
def staff_admin(practice: Practice) -> Any:
    user = staff(practice, "admin", email="ops@example.com", full_name="Olu Ops")
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


def test_admin_login_goes_through_sign_in_and_the_second_factor(practice, staff_admin):
    secret = with_totp(staff_admin)
    browser = Browser()

    to_login = browser.get("/django-admin/", follow=True)
    assert to_login.redirect_chain[-1][0].startswith("/accounts/login/")
    response = browser.post(
        "/accounts/login/",
        {"login": "ops@example.com", "password": PASSWORD, "next": "/django-admin/"},
    )
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert browser.get("/django-admin/").status_code == 302  # not signed in yet

    done = browser.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)})

    assert done["Location"] == "/django-admin/"
    assert browser.get("/django-admin/").status_code == 200


def test_admin_without_a_factor_is_sent_to_set_one_up(required, staff_admin):
    browser = Browser()
    sign_in(browser, "ops@example.com")

    response = browser.get("/django-admin/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/"


def test_admin_pages_named_like_the_two_factor_pages_are_held_too(required, staff_admin):
    # The admin's pages for allauth's Authenticator model are named "mfa_authenticator_…"
    # (in the admin's namespace), like allauth's own two-factor pages: they stay closed.
    browser = Browser()
    sign_in(browser, "ops@example.com")

    for path in ("/django-admin/mfa/authenticator/", "/django-admin/mfa/authenticator/add/"):
        response = browser.get(path)

        assert response.status_code == 302, path
        assert response["Location"] == "/accounts/2fa/"
    assert browser.get("/accounts/2fa/").status_code == 200


# Auditing codes ---------------------------------------------------------------------------
def test_thirty_wrong_codes_make_thirty_audit_rows_without_the_codes(therapist):
    secret = with_totp(therapist)
    browser = Browser()
    sign_in(browser, "alice@example.com")
    wrong = wrong_code(secret)

    for _ in range(30):
        response = browser.post("/accounts/2fa/authenticate/", {"code": wrong})
        assert response.status_code == 200

    events = AuditEvent.objects.filter(action="auth.second_factor", actor=therapist)
    assert events.count() == 30
    assert {event.outcome for event in events} == {"failed", "denied"}
    assert events.filter(outcome="failed").count() == 5  # then the limit refuses them unseen
    assert all(event.practice_id == therapist.membership.practice_id for event in events)
    assert wrong not in json.dumps([event.detail for event in events])
    assert "_auth_user_id" not in browser.session


def test_a_right_code_after_the_limit_is_still_refused(therapist):
    secret = with_totp(therapist)
    browser = Browser()
    sign_in(browser, "alice@example.com")
    for _ in range(5):
        browser.post("/accounts/2fa/authenticate/", {"code": wrong_code(secret)})

    response = browser.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)})

    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in browser.session


def test_practice_admin_sees_who_has_set_up_two_factor_sign_in(
    practice, practice_admin, therapist, colleague, signed_in
):
    with_totp(therapist)

    html = signed_in(practice_admin).get("/practice/").content.decode()

    assert "Two-factor sign-in" in html
    alice_row = html.split("Alice Rivera")[1].split("</tr>")[0]
    bob_row = html.split("Bob Lee")[1].split("</tr>")[0]
    assert "<td>Set up</td>" in alice_row
    assert "<td>Not set up</td>" in bob_row
