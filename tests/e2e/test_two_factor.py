"""Two-factor sign-in for staff in Chromium: the practice requires it, a clinician without a
factor is taken through setting up an authenticator app (QR code, recovery codes) before
anything else, and is asked for a code next time. No CSP violation on the way."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import Page, expect

from tests.e2e.conftest import BrowserProblems, sign_out
from tests.e2e.test_accessibility import serious_violations
from tests.factories import PASSWORD


def totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.fixture
def required(practice: Any) -> Any:
    practice.staff_two_factor_required = True
    practice.save(update_fields=["staff_two_factor_required"])
    return practice


def password_step(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label(re.compile("^Email", re.I)).fill(email)
    page.get_by_label(re.compile("^Password", re.I)).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^Sign in$", re.I)).click()


def test_clinician_sets_up_an_authenticator_app_then_signs_in_with_it(
    page: Page, required: Any, therapist: Any, browser_problems: BrowserProblems
) -> None:
    password_step(page, therapist.email)

    # Sent to set up a second factor; My Clients is out of reach until then.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/$"))
    expect(page.get_by_text("requires two-factor sign-in for staff")).to_be_visible()
    found = serious_violations(page)  # axe-core, as for the other account pages
    page.goto("/clients/")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/$"))
    page.get_by_role("link", name="Activate").click()
    # allauth confirms the password before a factor is added.
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    page.get_by_label(re.compile("^Password", re.I)).fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Activate Authenticator App")).to_be_visible()
    qr = page.locator('img[src^="data:image/svg+xml"]')
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0  # the data: image loaded under the CSP
    secret = page.locator("#authenticator_secret").input_value()
    found += serious_violations(page)
    page.get_by_label("Authenticator code").fill(totp_now(secret))
    page.get_by_role("button", name="Activate").click()

    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    unused = page.get_by_label("Unused codes")
    expect(unused).to_have_value(re.compile(r"^(\d{8}\s*){10}$"))
    recovery_code = unused.input_value().split()[0]
    found += serious_violations(page)
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download codes", re.I)).click()
    assert len(re.findall(r"\d{8}", download.value.path().read_text())) == 10

    page.get_by_role("link", name="My Clients").click()
    expect(page).to_have_url(re.compile(r"/clients/$"))
    expect(page.get_by_role("heading", name="My Clients")).to_be_visible()

    # Next time: the password, then a code (here a recovery code, as from a lost phone).
    sign_out(page)
    password_step(page, therapist.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    found += serious_violations(page)
    page.get_by_label("Code").fill(recovery_code)
    page.get_by_role("button", name=re.compile("^Sign in$", re.I)).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto("/clients/")
    expect(page.get_by_role("heading", name="My Clients")).to_be_visible()
    assert not found, "\n".join(found)


def test_clinician_sets_up_a_passkey_and_signs_in_with_it(
    page: Page, required: Any, therapist: Any, browser_problems: BrowserProblems
) -> None:
    """allauth's WebAuthn script under the project's CSP, with Chromium's virtual
    authenticator standing in for a phone or a security key."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    password_step(page, therapist.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/$"))
    page.get_by_role("link", name="Add").click()
    page.get_by_label(re.compile("^Password", re.I)).fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Add Security Key")).to_be_visible()
    # allauth's deferred WebAuthn script wires the button: a click before it ran does nothing.
    page.wait_for_load_state()
    page.get_by_role("button", name="Add").click()

    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    page.get_by_role("link", name="My Clients").click()
    expect(page.get_by_role("heading", name="My Clients")).to_be_visible()

    sign_out(page)
    password_step(page, therapist.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    page.wait_for_load_state()  # the security key button is wired by the same script
    page.get_by_role("button", name="Use a security key").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto("/clients/")
    expect(page.get_by_role("heading", name="My Clients")).to_be_visible()
