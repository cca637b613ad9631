"""axe-core in Chromium: no serious or critical violation on the pages people use (WS-4).

Covers the client list, every profile tab, the clinician's home page, the portal pages and
the account pages (sign-in, password reset, sign-up from an invitation).
"""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from caseload.clients import services
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e

AXE = Axe()
TABS = (
    "",
    "clinical/",
    "personal/",
    "emergency/",
    "preferences/",
    "sessions/",
    "plans/",
    "documents/",
    "messaging/",
)


def serious_violations(page: Page) -> list[str]:
    results = AXE.run(page)
    return [
        f"{page.url}: {violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def check(page: Page, paths: list[str]) -> list[str]:
    found: list[str] = []
    for path in paths:
        page.goto(path)
        page.wait_for_load_state()
        found += serious_violations(page)
    return found


def test_clinician_pages_have_no_serious_violation(
    page: Page, therapist: Any, active_client: Any, run_tasks: Any
) -> None:
    profile = f"/clients/{active_client.public_id}/"
    sign_in(page, therapist.email)

    found = check(page, ["/", "/clients/", *(profile + tab for tab in TABS)])

    assert not found, "\n".join(found)


def test_portal_pages_have_no_serious_violation(
    page: Page, client_user: Any, active_client: Any
) -> None:
    sign_in(page, client_user.email)

    found = check(
        page, ["/portal/", "/portal/documents/", f"/portal/messages/{active_client.public_id}/"]
    )

    assert not found, "\n".join(found)


def test_account_pages_have_no_serious_violation(
    page: Page, therapist: Any, run_tasks: Any
) -> None:
    from tests.e2e.conftest import invitation_link

    found = check(page, ["/accounts/login/", "/accounts/password/reset/"])
    services.client_add(actor=therapist, full_name="Nora Quinn", email="nora@example.com")
    run_tasks()
    page.goto(invitation_link("nora@example.com"))
    found += serious_violations(page)
    page.get_by_role("button", name="Create your account").click()
    page.wait_for_load_state()
    found += serious_violations(page)

    assert not found, "\n".join(found)


def test_the_check_catches_a_serious_violation(page: Page) -> None:
    """The guard itself works: a button without a name and an unlabelled field are caught."""
    page.goto("/accounts/login/")
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend',"
        " '<button></button><input type=text>')"
    )

    found = serious_violations(page)

    assert any("button-name" in problem for problem in found), found
