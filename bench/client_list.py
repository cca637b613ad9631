"""Benchmark: the My Clients list and search with a large caseload.

    uv run python bench/client_list.py [--clients 1000] [--repeat 30]

Builds a throwaway SQLite database (or uses DATABASE_URL when set, creating its own tables
in a fresh database is then your job), adds the clients through the services, and prints
the median and 95th-percentile time of the list page, a search and a profile, with the
number of queries each makes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="caseload-bench-")
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = str(Path(workdir) / "bench.sqlite3")
    os.environ.setdefault("OUTBOX_DIR", str(Path(workdir) / "outbox"))
    os.environ.setdefault("SECURE_HTTPS", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")

    import django

    django.setup()
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES["staticfiles"] = {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
    }
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)

    from caseload.accounts.models import User
    from caseload.clients import services
    from caseload.practices.models import Membership, Practice

    practice = Practice.objects.create(name="Bench", billing_enabled=True)
    therapist = User.objects.create_user("bench@example.com", "x", full_name="Bench Therapist")
    Membership.objects.create(user=therapist, practice=practice, role="therapist")
    start = time.perf_counter()
    first = None
    for number in range(args.clients):
        added = services.client_add(
            actor=therapist,
            full_name=f"Client {number:05d} Ñúñez",
            email=f"client{number}@example.com",
            billing_type="cash_pay",
        )
        first = first or added.relationship
    print(f"added {args.clients} clients in {time.perf_counter() - start:.1f} s")

    browser = Client()
    browser.force_login(therapist)
    assert first is not None
    cases = {
        "list page": "/clients/",
        "search 'nunez 0042'": "/clients/?q=nunez+0042",
        "profile": f"/clients/{first.public_id}/",
    }
    print(f"{'page':<22} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    for label, url in cases.items():
        timings = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                response = browser.get(url)
                timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        p95 = sorted(timings)[int(len(timings) * 0.95) - 1]
        print(f"{label:<22} {statistics.median(timings):>10.1f} {p95:>8.1f} {len(queries):>8}")


if __name__ == "__main__":
    main()
