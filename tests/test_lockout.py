"""The failed-sign-in limit without the lockout it gave anyone (SECURITY I3, U1).

Five wrong passwords for an account refuse even the right one for five minutes, whoever
typed them. The limit stays; the account's owner still gets in with the right password and
their second factor, or with a code emailed to the account's address. Refused attempts are
audited, without the password.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client as Browser

from caseload.audit.models import AuditEvent
from tests.factories import PASSWORD
from tests.test_two_factor import totp_now, with_totp, wrong_code

pytestmark = pytest.mark.django_db

ATTACKER = {"REMOTE_ADDR": "198.51.100.66"}
OWNER = {"REMOTE_ADDR": "192.0.2.10"}
LOCKED = "Too many failed login attempts"


@pytest.fixture(autouse=True)
def _empty_cache(db: None) -> Any:
    cache.clear()
    yield
    cache.clear()


def attempt(email: str, password: str, browser: Browser | None = None, **where: Any) -> Any:
    return (browser or Browser()).post(
        "/accounts/login/", {"login": email, "password": password}, **where
    )


def lock_out(email: str, **where: Any) -> None:
    """A stranger types wrong passwords for the account until the limit holds."""
    for n in range(6):
        attempt(email, f"guess-{n}-wrong", **(where or ATTACKER))


def test_blocked_attempts_are_audited_without_the_password(therapist):
    lock_out("alice@example.com")

    refused = attempt("alice@example.com", "hunter2-secret", **ATTACKER)

    assert LOCKED in refused.content.decode()
    failed = AuditEvent.objects.filter(action="auth.sign_in", outcome="failed")
    denied = AuditEvent.objects.filter(action="auth.sign_in", outcome="denied")
    assert failed.count() == 5
    assert denied.count() == 2  # the sixth guess and this one
    event = denied.first()
    assert event.actor_email == "alice@example.com"
    assert event.ip_address == ATTACKER["REMOTE_ADDR"]
    assert event.detail == {"reason": "too_many_attempts"}
    assert "hunter2" not in json.dumps([e.detail for e in AuditEvent.objects.all()])


def test_the_limit_still_refuses_the_right_password_alone(therapist):
    lock_out("alice@example.com")

    browser = Browser()
    response = attempt("alice@example.com", PASSWORD, browser, **OWNER)

    assert LOCKED in response.content.decode()
    assert "Send me a sign-in code" in response.content.decode()
    assert "_auth_user_id" not in browser.session


def test_locked_out_owner_gets_in_with_password_and_authenticator_code(therapist):
    secret = with_totp(therapist)
    lock_out("alice@example.com")
    browser = Browser()

    response = attempt("alice@example.com", PASSWORD, browser, **OWNER)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in browser.session  # the password alone is not enough
    done = browser.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)}, **OWNER)
    assert done.status_code == 302
    assert browser.get("/clients/", **OWNER).status_code == 200
    assert AuditEvent.objects.filter(action="auth.sign_in", outcome="ok", actor=therapist)


def test_attackers_wrong_passwords_do_not_block_the_second_factor_path(therapist):
    """However many addresses the stranger guesses from, the owner's factor step stays open;
    and while locked a wrong password gets no further than before."""
    secret = with_totp(therapist)
    for network in range(4):
        lock_out("alice@example.com", REMOTE_ADDR=f"203.0.113.{network}")
    guessed = attempt("alice@example.com", "another-guess", **{"REMOTE_ADDR": "203.0.113.99"})
    assert LOCKED in guessed.content.decode()
    browser = Browser()

    response = attempt("alice@example.com", PASSWORD, browser, **OWNER)
    browser.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)}, **OWNER)

    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert browser.get("/clients/", **OWNER).status_code == 200


def test_locked_out_with_the_right_password_but_a_wrong_code_stays_out(therapist):
    secret = with_totp(therapist)
    lock_out("alice@example.com")
    browser = Browser()

    attempt("alice@example.com", PASSWORD, browser, **OWNER)
    browser.post("/accounts/2fa/authenticate/", {"code": wrong_code(secret)}, **OWNER)

    assert "_auth_user_id" not in browser.session
    assert AuditEvent.objects.filter(
        action="auth.second_factor", outcome="failed", actor=therapist
    ).exists()


def test_from_the_attackers_own_address_the_right_password_does_not_pass(therapist):
    """Five failures from an address close it, for the second-factor step too."""
    with_totp(therapist)
    lock_out("alice@example.com")

    response = attempt("alice@example.com", PASSWORD, **ATTACKER)

    assert LOCKED in response.content.decode()


def code_from_email(run_tasks: Any) -> str:
    run_tasks()
    message = mail.outbox[-1]
    assert message.to == ["alice@example.com"]
    assert message.body.startswith("Hello from Caseload!")
    match = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", message.body, re.M)
    assert match, message.body
    return match.group(1)


def test_locked_out_owner_gets_in_with_a_code_sent_by_email(therapist, run_tasks):
    lock_out("alice@example.com")
    browser = Browser()
    locked = attempt("alice@example.com", PASSWORD, browser, **OWNER)
    assert 'href="/accounts/login/code/"' in locked.content.decode()

    asked = browser.post("/accounts/login/code/", {"email": "alice@example.com"}, **OWNER)
    assert asked["Location"] == "/accounts/login/code/confirm/"
    code = code_from_email(run_tasks)
    # Another browser can't use it: the code belongs to the browser that asked for it.
    elsewhere = Browser().post("/accounts/login/code/confirm/", {"code": code}, **ATTACKER)
    assert elsewhere.status_code == 302
    assert elsewhere["Location"].startswith("/accounts/login/")
    done = browser.post("/accounts/login/code/confirm/", {"code": code}, **OWNER)

    assert done.status_code == 302
    assert browser.get("/clients/", **OWNER).status_code == 200
    # Single use.
    again = Browser().post("/accounts/login/code/confirm/", {"code": code}, **OWNER)
    assert "_auth_user_id" not in again.wsgi_request.session


def test_a_code_by_email_still_asks_for_the_second_factor(therapist, run_tasks):
    secret = with_totp(therapist)
    lock_out("alice@example.com")
    browser = Browser()

    browser.post("/accounts/login/code/", {"email": "alice@example.com"}, **OWNER)
    response = browser.post(
        "/accounts/login/code/confirm/", {"code": code_from_email(run_tasks)}, **OWNER
    )

    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in browser.session
    browser.post("/accounts/2fa/authenticate/", {"code": totp_now(secret)}, **OWNER)
    assert browser.get("/clients/", **OWNER).status_code == 200
