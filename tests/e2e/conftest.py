"""Browser tests: pytest-playwright against Django's live server, in Debian's Chromium.

Everything here drives the browser through pytest-playwright's `page` / `new_context`
fixtures; ORM set-up happens before the browser steps and checks after them (NOTES "Tests").
Every browser context records console errors, uncaught exceptions and CSP violations; a
test fails at teardown if any was seen that it did not expect.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page, expect

from tests.factories import PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Generous enough for a loaded CI machine, short enough that a broken step fails fast.
TIMEOUT_MS = 5_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is an end-to-end test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


_missing_browser: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _missing_browser:
        terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(_missing_browser[0], red=True, bold=True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    executable = os.environ.get("PLAYWRIGHT_CHROMIUM") or "/usr/bin/chromium"
    if not Path(executable).exists():
        reason = (
            f"Chromium not found at {executable}: the browser tests did NOT run. "
            "Install it with `apt-get install -y chromium` or set PLAYWRIGHT_CHROMIUM."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        _missing_browser.append(reason)
        pytest.skip(f"!!! {reason} !!!")
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(live_server: Any) -> str:
    return str(live_server.url)


# Console errors and CSP violations ------------------------------------------------------
@dataclass
class BrowserProblems:
    """What the browser complained about during a test."""

    csp: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect console errors matching `pattern` (e.g. a 404 the test provokes)."""
        self.allowed.append(re.compile(pattern))

    def on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        url = message.location.get("url", "") if message.location else ""
        if "Refused to" in text or "Content Security Policy" in text:
            self.csp.append(f"{text} ({url})")
        elif message.type == "error":
            if "favicon.ico" in url or "favicon.ico" in text:
                return
            if any(pattern.search(f"{text} {url}") for pattern in self.allowed):
                return
            self.errors.append(f"{text} ({url})")

    def on_page_error(self, error: Error) -> None:
        self.errors.append(f"uncaught: {error}")

    def watch(self, context: BrowserContext) -> None:
        context.on("console", self.on_console)
        context.on("weberror", lambda web_error: self.on_page_error(web_error.error))


@pytest.fixture
def browser_problems() -> Generator[BrowserProblems]:
    problems = BrowserProblems()
    yield problems
    assert not problems.csp, "CSP violations:\n" + "\n".join(problems.csp)
    assert not problems.errors, "Browser console errors:\n" + "\n".join(problems.errors)


@pytest.fixture
def new_context(
    new_context: Callable[..., BrowserContext],
    browser_problems: BrowserProblems,
    browser: Browser,
    browser_context_args: dict[str, Any],
) -> Generator[Callable[..., BrowserContext]]:
    """pytest-playwright's factory, with every context watched and short timeouts.

    `base_url=` points a context at another server (the ASGI live server): pytest-playwright
    sets the base URL for every context, so such a context is made here and closed after.
    """
    own: list[BrowserContext] = []

    def make(**kwargs: Any) -> BrowserContext:
        if "base_url" in kwargs:
            context = browser.new_context(**{**browser_context_args, **kwargs})
            own.append(context)
        else:
            context = new_context(**kwargs)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        browser_problems.watch(context)
        return context

    yield make
    for context in own:
        context.close()


@pytest.fixture(autouse=True, scope="session")
def _expect_timeout() -> None:
    expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(transactional_db: None) -> None:
    """Sign-in rate limits live in the database cache, which a flush doesn't empty."""
    from django.core.cache import cache

    cache.clear()


# Helpers --------------------------------------------------------------------------------
def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real login page, as a person would."""
    page.goto("/accounts/login/")
    page.get_by_label(re.compile("^Email", re.I)).fill(email)
    page.get_by_label(re.compile("^Password", re.I)).fill(password)
    page.get_by_role("button", name=re.compile("^Sign in$", re.I)).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.wait_for_load_state()  # htmx is set up (deferred scripts ran)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/accounts/(login|logout)/"))


def link_path(url: str) -> str:
    """The path of an emailed link: emails carry SITE_URL, the tests run on the live server."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def invitation_link(to: str) -> str:
    """The link in the latest email to `to` (delivered by `run_tasks` into mail.outbox)."""
    from django.core import mail

    sent = [message for message in mail.outbox if to in message.to]
    assert sent, f"no email to {to}; outbox holds mail to {[m.to for m in mail.outbox]}"
    found = re.search(r"https?://\S+/invite/[^/\s]+/", sent[-1].body)
    assert found, f"no invitation link in: {sent[-1].body}"
    return link_path(found.group(0))


def sign_up_from_invitation(page: Page, link: str, email: str) -> None:
    """Open an emailed invitation link (not signed in) and create the account it offers."""
    page.goto(link)
    page.get_by_role("button", name="Create your account").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/"))
    field = page.get_by_label(re.compile("^Email"))
    if not field.input_value():
        field.fill(email)
    expect(field).to_have_value(email)
    page.get_by_label(re.compile(r"^Password[\s*]*$")).fill(PASSWORD)
    page.get_by_label(re.compile(r"^Password \(again\)")).fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def mark_page(page: Page) -> None:
    """Tag the current document, to prove later that a step did not reload the page."""
    page.evaluate("window.__caseloadMark = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__caseloadMark === true"), "the page was reloaded"


# An ASGI live server, for the live channel ------------------------------------------------
@dataclass
class AsgiLiveServer:
    url: str


@pytest.fixture
def asgi_live_server(transactional_db: None) -> Generator[AsgiLiveServer]:
    """The ASGI application (HTTP and websockets) served by uvicorn in a background thread.

    pytest-django's `live_server` speaks WSGI only, so it has no live channel. This one runs
    in the test's process, so it sees the test database (SQLite's shared in-memory one too)
    and shares the process's channel layer (in-memory unless REDIS_URL is set). Static files
    come from the finders, as with `live_server`.
    """
    import socket
    import threading
    import time

    import uvicorn
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from caseload.asgi import application

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        ASGIStaticFilesHandler(application),
        host="127.0.0.1",
        port=port,
        ws="websockets-sansio",
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="asgi-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the ASGI live server did not start")
        time.sleep(0.02)
    try:
        yield AsgiLiveServer(url=f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
