"""Security bar checks that cut across features (SECURITY I3, I4, I7, U3, V1, V2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client as Browser
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from caseload.audit.models import AuditEvent
from caseload.clients.models import CareRelationship, CareState, Invitation
from tests.factories import PASSWORD, pending_relationship

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent

# Built here, far from the code that fails, so that the traceback's source lines don't show them.
SENSITIVE_VALUES = ("12 Confidential" + " Mews", "hunter2" + "-secret", "panic" + " attacks")
SENSITIVE_POST = dict(zip(("address", "password", "notes"), SENSITIVE_VALUES, strict=True))


def session_exists(key: str) -> bool:
    return Session.objects.filter(session_key=key).exists()


@pytest.fixture(autouse=True)
def _empty_cache(db: None) -> Any:
    """Rate-limit counters live in the (database) cache: start every test from zero."""
    cache.clear()
    yield
    cache.clear()


# Response headers -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("persona", "path"),
    [
        ("anonymous", "/accounts/login/"),
        ("anonymous", "/health/"),
        ("therapist", "/clients/"),
        ("client_user", "/portal/"),
        ("anonymous", "/invite/0000/"),
    ],
)
def test_security_headers(request, persona, path):
    browser = Browser()
    if persona != "anonymous":
        browser.force_login(request.getfixturevalue(persona))

    response = browser.get(path)

    csp = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert "'self'" in directives["script-src"]
    if response["Content-Type"].startswith("text/html"):
        assert any(source.startswith("'nonce-") for source in directives["script-src"])
    assert "'unsafe-inline'" not in directives.get("style-src", [])
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_every_script_tag_carries_the_nonce(therapist, active_client, signed_in):
    response = signed_in(therapist).get(f"/clients/{active_client.public_id}/")

    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    scripts = html.count("<script")
    assert scripts >= 1
    assert html.count(f'nonce="{nonce}"') == scripts
    for handler in ("onclick=", "onload=", "onchange=", "onsubmit=", "hx-on"):
        assert handler not in html  # inline handlers would need 'unsafe-inline' or eval


def test_invitation_link_page_keeps_the_token_out_of_referers(therapist):
    token = (
        pending_relationship(therapist, full_name="P", email="p@example.com")
        .invitations.get()
        .token()
    )

    response = Browser().get(f"/invite/{token}/")

    assert response["Referrer-Policy"] == "same-origin"


# Session limits (I7) ----------------------------------------------------------------------
def _session_with(browser: Browser, **values: Any) -> str:
    session = browser.session
    for key, value in values.items():
        session[key] = value
    session.save()
    return session.session_key


def test_idle_timeout_signs_out_and_deletes_the_session(therapist, signed_in):
    browser = signed_in(therapist)
    assert browser.get("/clients/").status_code == 200
    key = _session_with(browser, caseload_last_activity=int(time.time()) - 31 * 60)

    response = browser.get("/clients/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/clients/"
    assert not session_exists(key)
    again = browser.get("/clients/")
    assert again.status_code == 302
    assert again["Location"].startswith("/accounts/login/")
    signed_out = AuditEvent.objects.filter(action="auth.sign_out", actor=therapist)
    assert signed_out.exists()


def test_idle_timeout_explains_why(therapist, signed_in):
    browser = signed_in(therapist)
    browser.get("/clients/")
    _session_with(browser, caseload_last_activity=int(time.time()) - 31 * 60)

    response = browser.get("/clients/", follow=True)

    assert "signed out after a period of inactivity" in response.content.decode()


def test_idle_timeout_for_htmx_asks_for_a_full_redirect(therapist, signed_in):
    browser = signed_in(therapist)
    browser.get("/clients/")
    key = _session_with(browser, caseload_last_activity=int(time.time()) - 31 * 60)

    response = browser.get("/clients/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="client-list")

    assert response["HX-Redirect"] == "/accounts/login/"
    assert b"client-list" not in response.content
    assert not session_exists(key)


def test_activity_within_the_idle_limit_keeps_the_session(therapist, signed_in):
    browser = signed_in(therapist)
    browser.get("/clients/")
    key = _session_with(browser, caseload_last_activity=int(time.time()) - 29 * 60)

    response = browser.get("/clients/")

    assert response.status_code == 200
    assert session_exists(key)
    assert browser.session["caseload_last_activity"] >= int(time.time()) - 5


def test_absolute_timeout_after_12_hours(therapist, signed_in):
    browser = signed_in(therapist)
    browser.get("/clients/")
    key = _session_with(
        browser,
        caseload_started=int(time.time()) - 12 * 60 * 60 - 1,
        caseload_last_activity=int(time.time()) - 60,
    )

    response = browser.get("/clients/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not session_exists(key)


def test_absolute_limit_holds_however_active_the_user(therapist, signed_in):
    browser = signed_in(therapist)
    browser.get("/clients/")
    _session_with(browser, caseload_started=int(time.time()) - 11 * 60 * 60)
    assert browser.get("/clients/").status_code == 200  # 11 h in: still fine

    _session_with(browser, caseload_started=int(time.time()) - 12 * 60 * 60 - 5)
    assert browser.get("/clients/").status_code == 302


def test_background_requests_do_not_count_as_activity(therapist, signed_in):
    browser = signed_in(therapist)
    browser.get("/clients/")
    stale = int(time.time()) - 20 * 60
    _session_with(browser, caseload_last_activity=stale)

    response = browser.get("/clients/", HTTP_X_CASELOAD_BACKGROUND="1")

    assert response.status_code == 200
    assert browser.session["caseload_last_activity"] == stale
    # ...so polling can't keep an abandoned session alive past the idle limit.
    _session_with(browser, caseload_last_activity=int(time.time()) - 31 * 60)
    assert browser.get("/clients/", HTTP_X_CASELOAD_BACKGROUND="1").status_code == 302


def test_ordinary_requests_refresh_activity(therapist, signed_in):
    browser = signed_in(therapist)
    browser.get("/clients/")
    _session_with(browser, caseload_last_activity=int(time.time()) - 20 * 60)

    browser.get("/clients/")

    assert browser.session["caseload_last_activity"] >= int(time.time()) - 5


def test_logout_kills_the_server_side_session(therapist, signed_in):
    browser = signed_in(therapist)
    browser.get("/clients/")
    key = browser.session.session_key
    assert session_exists(key)

    response = browser.post("/accounts/logout/")

    assert response.status_code == 302
    assert not session_exists(key)
    assert browser.get("/clients/").status_code == 302


def test_session_key_rotates_at_sign_in(therapist):
    browser = Browser()
    before = _session_with(browser, planted="by an attacker")

    response = browser.post(
        "/accounts/login/", {"login": "alice@example.com", "password": PASSWORD}
    )

    assert response.status_code == 302
    after = browser.session.session_key
    assert after != before
    assert not session_exists(before)
    assert browser.get("/clients/").status_code == 200


#: Read by a fresh interpreter, because conftest overrides some of these for plain-HTTP tests
#: (Secure cookies off, MD5 hashing for speed).
PRODUCTION_PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "from django.contrib.auth.hashers import make_password; "
    "print(json.dumps({"
    "'session_secure': s.SESSION_COOKIE_SECURE, 'csrf_secure': s.CSRF_COOKIE_SECURE, "
    "'session_httponly': s.SESSION_COOKIE_HTTPONLY, 'samesite': s.SESSION_COOKIE_SAMESITE, "
    "'engine': s.SESSION_ENGINE, 'hasher': s.PASSWORD_HASHERS[0], "
    "'algorithm': make_password('x').split('$')[0], "
    "'idle': s.SESSION_IDLE_TIMEOUT_SECONDS, 'absolute': s.SESSION_ABSOLUTE_TIMEOUT_SECONDS, "
    "'proxies': getattr(s, 'ALLAUTH_TRUSTED_PROXY_COUNT', 0)}))"
)


@pytest.fixture(scope="module")
def production_settings() -> dict[str, Any]:
    return json.loads(_settings_subprocess(PRODUCTION_PROBE))


def test_production_cookie_and_session_settings(production_settings):
    assert production_settings["session_secure"] is True
    assert production_settings["csrf_secure"] is True
    assert production_settings["session_httponly"] is True
    assert production_settings["samesite"] == "Lax"
    assert production_settings["engine"] == "django.contrib.sessions.backends.db"
    assert production_settings["idle"] == 30 * 60
    assert production_settings["absolute"] == 12 * 60 * 60


def _settings_subprocess(code: str, **extra_env: str) -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in (
            "BEHIND_PROXY",
            "TRUSTED_PROXY_COUNT",
            "DEBUG",
            "SECURE_HTTPS",
            "SESSION_IDLE_TIMEOUT_SECONDS",
            "SESSION_ABSOLUTE_TIMEOUT_SECONDS",
        )
    }
    env["DJANGO_SETTINGS_MODULE"] = "caseload.settings"
    env.update(extra_env)
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


# Sign-in rate limit (I3) ------------------------------------------------------------------
def test_database_cache_table_exists():
    """The rate limits need the shared cache; the test database must have its table."""
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    cache.set("probe", "ok", 30)
    assert cache.get("probe") == "ok"


def test_sign_in_is_rate_limited_per_ip(therapist):
    browser = Browser()
    for _ in range(6):
        failed = browser.post(
            "/accounts/login/", {"login": "alice@example.com", "password": "wrong"}
        )
        assert failed.status_code == 200

    # Even the right password is refused now.
    response = browser.post(
        "/accounts/login/", {"login": "alice@example.com", "password": PASSWORD}
    )

    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in browser.session
    assert browser.get("/clients/").status_code == 302
    assert "Too many failed login attempts" in response.content.decode()


def test_rate_limit_is_per_address_across_clients(therapist, colleague):
    """A second browser from the same IP trying another account is limited by IP too."""
    for attempt in range(6):
        Browser().post(
            "/accounts/login/", {"login": f"nobody{attempt}@example.com", "password": "x"}
        )

    response = Browser().post(
        "/accounts/login/", {"login": "bob@example.com", "password": PASSWORD}
    )

    assert "Too many failed login attempts" in response.content.decode()


@pytest.fixture
def behind_one_proxy(settings: Any) -> None:
    """What BEHIND_PROXY=true configures: one trusted load balancer in front of the app."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1


def test_behind_a_proxy_rate_limits_are_per_client_not_per_balancer(therapist, behind_one_proxy):
    balancer = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(6):
        Browser().post(
            "/accounts/login/",
            {"login": "nobody@example.com", "password": "x"},
            HTTP_X_FORWARDED_FOR="198.51.100.1",
            **balancer,
        )

    attacker = Browser().post(
        "/accounts/login/",
        {"login": "alice@example.com", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.1",
        **balancer,
    )
    # A forged left-most entry doesn't escape the limit: the balancer appends the real address.
    forged = Browser().post(
        "/accounts/login/",
        {"login": "alice@example.com", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="203.0.113.99, 198.51.100.1",
        **balancer,
    )
    someone_else = Browser().post(
        "/accounts/login/",
        {"login": "alice@example.com", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="192.0.2.7",
        **balancer,
    )

    assert "Too many failed login attempts" in attacker.content.decode()
    assert "Too many failed login attempts" in forged.content.decode()
    assert someone_else.status_code == 302  # signed in: not locked out by a stranger


def test_audit_records_the_address_the_proxy_saw(therapist, behind_one_proxy):
    Browser().post(
        "/accounts/login/",
        {"login": "alice@example.com", "password": "wrong"},
        HTTP_X_FORWARDED_FOR="203.0.113.99, 198.51.100.1",
        REMOTE_ADDR="10.0.0.2",
    )

    event = AuditEvent.objects.get(action="auth.sign_in", outcome="failed")
    assert event.ip_address == "198.51.100.1"


@pytest.mark.parametrize("forwarded", ["not-an-address", "", "1.2.3.4, <script>"])
def test_garbage_forwarded_for_falls_back_to_the_peer(
    therapist, active_client, behind_one_proxy, forwarded, signed_in
):
    """An audit write never fails on a malformed address (GenericIPAddressField, inet on PG)."""
    response = signed_in(therapist).get(
        f"/clients/{active_client.public_id}/",
        HTTP_X_FORWARDED_FOR=forwarded,
        REMOTE_ADDR="10.0.0.2",
    )

    assert response.status_code == 200
    assert AuditEvent.objects.get(action="client.view").ip_address == "10.0.0.2"


def test_without_a_proxy_forwarded_for_is_ignored(therapist):
    Browser().post(
        "/accounts/login/",
        {"login": "alice@example.com", "password": "wrong"},
        HTTP_X_FORWARDED_FOR="203.0.113.99",
        REMOTE_ADDR="192.0.2.10",
    )

    assert (
        AuditEvent.objects.get(action="auth.sign_in", outcome="failed").ip_address == "192.0.2.10"
    )


def test_behind_proxy_setting_trusts_one_proxy_in_a_subprocess(production_settings):
    behind_proxy = json.loads(_settings_subprocess(PRODUCTION_PROBE, BEHIND_PROXY="true"))

    assert production_settings["proxies"] == 0  # X-Forwarded-For ignored without a proxy
    assert behind_proxy["proxies"] == 1


def test_failed_sign_ins_are_audited_without_the_password(therapist):
    Browser().post("/accounts/login/", {"login": "alice@example.com", "password": "hunter2-secret"})

    event = AuditEvent.objects.get(action="auth.sign_in", outcome="failed")
    assert event.actor_email == "alice@example.com"
    assert "hunter2" not in json.dumps(event.detail)


# Passwords (I4) ---------------------------------------------------------------------------
def test_production_settings_hash_passwords_with_argon2(production_settings):
    assert production_settings["hasher"] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert production_settings["algorithm"] == "argon2"


@pytest.mark.parametrize("password", ["short1", "password123", "12345678901"])
def test_weak_passwords_are_refused_at_signup(therapist, password):
    invitation = pending_relationship(
        therapist, full_name="P", email="p@example.com"
    ).invitations.get()
    browser = Browser()
    browser.post(f"/invite/{invitation.token()}/signup/")

    response = browser.post(
        "/accounts/signup/",
        {"email": "p@example.com", "password1": password, "password2": password},
    )

    assert response.status_code == 200
    assert 'id="id_password1_error"' in response.content.decode() or "password" in (
        response.content.decode().lower()
    )
    assert Invitation.objects.get(pk=invitation.pk).is_usable


# CSRF and safe methods (V2) ---------------------------------------------------------------
def test_csrf_is_enforced(therapist, active_client):
    browser = Browser(enforce_csrf_checks=True)
    browser.force_login(therapist)

    responses = [
        browser.post(
            "/clients/add/",
            {"full_name": "X", "email": "x@example.com", "billing_type": "cash_pay"},
        ),
        browser.post(f"/clients/{active_client.public_id}/archive/"),
        browser.post(f"/clients/{active_client.public_id}/personal/", {"gender": "x"}),
        browser.post("/accounts/logout/"),
    ]

    assert [response.status_code for response in responses] == [403] * 4
    assert not CareRelationship.objects.filter(client__email="x@example.com").exists()
    assert CareRelationship.objects.get(pk=active_client.pk).state == CareState.ACTIVE


def test_csrf_token_from_the_page_works(therapist, active_client):
    browser = Browser(enforce_csrf_checks=True)
    browser.force_login(therapist)
    html = browser.get(f"/clients/{active_client.public_id}/").content.decode()
    token = html.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]

    response = browser.post(
        f"/clients/{active_client.public_id}/archive/", {"csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302
    assert CareRelationship.objects.get(pk=active_client.pk).state == CareState.ARCHIVED


def test_htmx_csrf_header_works(therapist, active_client):
    browser = Browser(enforce_csrf_checks=True)
    browser.force_login(therapist)
    html = browser.get("/clients/").content.decode()
    token = json.loads(html.split("hx-headers='")[1].split("'")[0])["X-CSRFToken"]

    response = browser.post(
        f"/clients/{active_client.public_id}/archive/",
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code in (200, 204)
    assert CareRelationship.objects.get(pk=active_client.pk).state == CareState.ARCHIVED


def _state_snapshot() -> list[Any]:
    return [
        list(
            CareRelationship.objects.order_by("pk").values_list(
                "pk", "state", "billing_type", "phone", "messaging_enabled"
            )
        ),
        list(
            Invitation.objects.order_by("pk").values_list(
                "pk", "token_hash", "accepted_at", "declined_at", "revoked_at"
            )
        ),
    ]


def test_get_never_changes_state(therapist, colleague, client_user, active_client, signed_in):
    pending = pending_relationship(therapist, full_name="Pat", email="pat@example.com")
    bobs = pending_relationship(colleague, full_name="Maya Patel", email="maya@example.com")
    request = bobs.invitations.get()
    before = _state_snapshot()
    alice, maya = signed_in(therapist), signed_in(client_user)

    for browser, path in [
        (alice, f"/clients/{active_client.public_id}/archive/"),
        (alice, f"/clients/{active_client.public_id}/restore/"),
        (alice, f"/clients/{active_client.public_id}/remove/?confirm=on"),
        (alice, f"/clients/{active_client.public_id}/personal/?phone=2127365000"),
        (alice, f"/clients/{active_client.public_id}/preferences/?billing_type=insurance"),
        (alice, f"/clients/{pending.public_id}/resend-invitation/"),
        (alice, "/clients/add/?full_name=X&email=x@example.com&billing_type=cash_pay"),
        (maya, f"/portal/requests/{request.public_id}/approve/"),
        (maya, f"/portal/requests/{request.public_id}/decline/"),
        (maya, f"/invite/{request.token()}/"),
        (maya, f"/invite/{request.token()}/respond/?answer=approve"),
        (Browser(), f"/invite/{pending.invitations.get().token()}/"),
        (Browser(), f"/invite/{pending.invitations.get().token()}/signup/"),
    ]:
        response = browser.get(path)
        assert response.status_code in (200, 405), path

    assert _state_snapshot() == before


# Error reports (U3) -----------------------------------------------------------------------
def _failing_request(rf: RequestFactory, user: Any) -> Any:
    request = rf.post("/clients/x/personal/", SENSITIVE_POST)
    request.user = user
    return request


def _fail() -> None:
    raise ValueError("boom")


def test_error_reports_hide_post_values(rf: RequestFactory, therapist):
    request = _failing_request(rf, therapist)
    try:
        _fail()
    except ValueError:
        reporter = ExceptionReporter(request, *sys.exc_info())

    text = reporter.get_traceback_text()
    html = reporter.get_traceback_html()

    for secret in SENSITIVE_VALUES:
        assert secret not in text
        assert secret not in html
    assert "address" in text  # the field names stay, for debugging
    assert "********" in text


def test_admin_error_emails_hide_post_values(rf: RequestFactory, therapist, mailoutbox):
    import logging

    from django.utils.log import AdminEmailHandler

    request = _failing_request(rf, therapist)
    handler = AdminEmailHandler(include_html=True)
    logger = logging.getLogger("caseload.test.errors")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(settings, "ADMINS", ["ops@example.com"])
            try:
                _fail()
            except ValueError:
                logger.error(
                    "failure", exc_info=True, extra={"request": request, "status_code": 500}
                )
    finally:
        logger.removeHandler(handler)

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    for secret in SENSITIVE_VALUES:
        assert secret not in message.body
        assert all(secret not in content for content, _ in message.alternatives)
