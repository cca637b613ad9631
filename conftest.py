"""Shared test set-up: fast hashing, plain static files, personas and a task runner."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM must still work there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Tests talk plain HTTP to the test client and to the live server.
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS = 0
    settings.EMAIL_RETRY_BASE_SECONDS = 0
    # The ASGI live server imports caseload.asgi: no ICD-10/PDF warm-up thread in the tests.
    settings.WARM_UP_AT_START = False
    # No connection pool in the test process, even if SERVER_MODE=asgi is exported: pooled
    # connections would outlive each test's transaction and the test database's drop.
    settings.DATABASES["default"].get("OPTIONS", {}).pop("pool", None)
    # WhiteNoise warns on every app start when STATIC_ROOT is missing (nothing is collected).
    os.makedirs(settings.STATIC_ROOT, exist_ok=True)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """On SQLite, test in a file (WAL, busy timeout) rather than Django's shared in-memory DB.

    The ASGI live server of the messaging browser tests handles requests in threads of their
    own, each with its own connection, as in production; SQLite's shared in-memory cache
    answers a second writer "table is locked" at once instead of waiting as a file does.
    """
    import os

    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        name = settings.BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(name)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """The database cache holds sign-in rate limits: its table must exist in the test DB."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("createcachetable", verbosity=0)


@pytest.fixture
def run_tasks(db: None) -> Callable[[], int]:
    """Run every ready background task in this process, as `db_worker --batch` would.

    Calls the worker's own `run_task`, but without its connection recycling, which would
    close the test's transaction.
    """
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="pytest",
        excluded_queue_names=[],
    )

    def run() -> int:
        count = 0
        while (result := DBTaskResult.objects.ready().order_by("enqueued_at").first()) is not None:
            result.claim("pytest")
            worker.run_task(result)
            count += 1
            if count > 1000:
                raise RuntimeError("tasks keep enqueueing themselves")
        return count

    return run


# Personas -------------------------------------------------------------------------------
@pytest.fixture
def practice(db: None) -> Any:
    from tests.factories import PracticeFactory

    return PracticeFactory(billing_enabled=True, child_accounts_enabled=True)


@pytest.fixture
def supervisor(practice: Any) -> Any:
    from tests.factories import staff

    return staff(practice, "supervisor", email="supervisor@example.com", full_name="Helen Brooks")


@pytest.fixture
def therapist(practice: Any, supervisor: Any) -> Any:
    """The owning therapist ("alice"), supervised by `supervisor`."""
    from tests.factories import staff

    return staff(
        practice,
        "therapist",
        email="alice@example.com",
        full_name="Alice Rivera",
        supervisor=supervisor,
    )


@pytest.fixture
def colleague(practice: Any) -> Any:
    """Another therapist in the same practice ("bob"): no access to alice's clients."""
    from tests.factories import staff

    return staff(practice, "therapist", email="bob@example.com", full_name="Bob Lee")


@pytest.fixture
def outsider(db: None) -> Any:
    """A therapist in another practice ("charlie")."""
    from tests.factories import PracticeFactory, staff

    return staff(
        PracticeFactory(name="Elsewhere"),
        "therapist",
        email="charlie@example.com",
        full_name="Charlie Day",
    )


@pytest.fixture
def practice_admin(practice: Any) -> Any:
    from tests.factories import staff

    return staff(practice, "admin", email="admin@example.com", full_name="Priya Shah")


@pytest.fixture
def active_client(therapist: Any) -> Any:
    """An adult client of alice who has signed up: returns the care relationship."""
    from tests.factories import active_relationship

    return active_relationship(therapist, full_name="Maya Patel", email="maya@example.com")


@pytest.fixture
def client_user(active_client: Any) -> Any:
    return active_client.client.account


@pytest.fixture
def child_client(therapist: Any) -> Any:
    """A child client of alice whose guardian has signed up: returns the care relationship."""
    from tests.factories import active_child_relationship

    return active_child_relationship(
        therapist,
        child_name="Ava Okafor",
        guardian_name="Sam Okafor",
        guardian_email="sam@example.com",
    )


@pytest.fixture
def guardian_user(child_client: Any) -> Any:
    return child_client.client.guardianship.account


@pytest.fixture
def signed_in(db: None) -> Callable[[Any], Any]:
    """A browser (Django's test client) signed in as the given user, without a password."""
    from django.test import Client as Browser

    def sign_in(user: Any) -> Browser:
        browser = Browser()
        browser.force_login(user)
        return browser

    return sign_in
