"""On a phone (390 px wide), no page of the demo is wider than the screen: wide tables scroll
inside themselves and the page itself never scrolls sideways."""

from __future__ import annotations

from playwright.sync_api import Page

from caseload.workspace.management.commands.load_demo import DEMO_PASSWORD
from tests.e2e.conftest import sign_in, sign_out

#: Elements wider than the viewport, with the page's own width: what a person would have to
#: scroll sideways for.
WIDER_THAN_THE_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')].filter((element) => {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) return false;
    // Inside something that scrolls sideways (a table's wrapper, the tab bar): fine.
    for (let up = element.parentElement; up && up !== document.body; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      const scrolls = overflow === 'auto' || overflow === 'scroll';
      if (scrolls && up.getBoundingClientRect().right <= width + 1) return false;
    }
    return true;
  });
  const named = (e) => `${e.tagName}.${e.className} ${e.getBoundingClientRect().right}`;
  return [document.documentElement.scrollWidth - width, wide.slice(0, 5).map(named)];
}"""


def too_wide(page: Page, path: str) -> list[object]:
    """`path`, how far the page scrolls sideways and what sticks out; empty if it fits."""
    page.goto(path)
    assert page.url.endswith(path), (path, page.url)  # the page itself, not a redirect
    page.wait_for_load_state()  # scripts ran (htmx, the profile's tabs)
    overflow, wide = page.evaluate(WIDER_THAN_THE_SCREEN)
    return [path, overflow, wide] if overflow > 0 or wide else []


def test_every_demo_page_fits_a_phone_screen(page: Page) -> None:
    from django.core.management import call_command

    from caseload.accounts.models import User
    from caseload.api.services import token_create
    from caseload.clients.models import CareRelationship

    call_command("load_demo", verbosity=0)
    therapist = User.objects.get(email="therapist@demo.caseload.test")
    token_create(
        actor=therapist, name="Nightly sync to the billing system", scope="read", expires_in_days=30
    )
    profile = "/clients/{}/".format(
        CareRelationship.objects.get(client__email="maya.patel@demo.caseload.test").public_id
    )
    page.set_viewport_size({"width": 390, "height": 844})

    sign_in(page, "therapist@demo.caseload.test", DEMO_PASSWORD)
    paths = [
        "/",
        "/clients/",
        profile,
        *(
            profile + tab
            for tab in ("personal/", "clinical/", "sessions/", "plans/", "documents/", "messaging/")
        ),
        "/sessions/",
        "/calendar/",
        "/account/api-tokens/",
        "/clients/import/",
    ]
    problems = [found for path in paths if (found := too_wide(page, path))]
    # The supervisor's queue and the practice administrator's pages.
    sign_out(page)
    sign_in(page, "supervisor@demo.caseload.test", DEMO_PASSWORD)
    problems += [found for path in ["/supervision/"] if (found := too_wide(page, path))]
    sign_out(page)
    sign_in(page, "admin@demo.caseload.test", DEMO_PASSWORD)
    problems += [
        found for path in ["/practice/", "/practice/audit/"] if (found := too_wide(page, path))
    ]
    assert not problems, problems


def test_the_portal_fits_a_phone_screen(page: Page) -> None:
    from django.core.management import call_command

    call_command("load_demo", verbosity=0)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "maya.patel@demo.caseload.test", DEMO_PASSWORD)
    assert not too_wide(page, "/portal/")
    links = page.locator("main a[href^='/portal/']")
    hrefs = dict.fromkeys(str(link.get_attribute("href")) for link in links.all())
    assert len(hrefs) >= 3  # her documents, messages and sessions at least
    problems = [found for href in list(hrefs)[:10] if (found := too_wide(page, href))]
    assert not problems, problems
