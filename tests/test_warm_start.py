"""App server processes start warm: the ICD-10-CM index is loaded and PDF rendering has its
fonts before the first request (the entry point's import returns warm), for ASGI as for WSGI,
and what the process then holds is frozen out of the garbage collector's full collections."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SERVER_PROCESS = """
import json, sys, time
import importlib
importlib.import_module(sys.argv[1])  # the entry point, as a server imports it: warm after it
from caseload.clinical import icd10
assert icd10._index is not None, "the ICD-10-CM index was not loaded"
from caseload.clinical import dsm5tr
assert dsm5tr._index is not None, "the DSM-5-TR name index was not loaded"
import gc
# What the process holds after its start is out of the collector's sight (no full-collection
# pause walking the indexes and modules); the index is among it.
assert gc.get_freeze_count() > 100_000, gc.get_freeze_count()
started = time.perf_counter()
icd10.search("major depressive")
search = time.perf_counter() - started
from caseload.lib.pdf import render_pdf
started = time.perf_counter()
pdf = render_pdf("plans/pdf.html", {})
assert pdf.startswith(b"%PDF")
print(json.dumps({"search": search, "pdf": time.perf_counter() - started}))
"""


@pytest.mark.parametrize("entry_point", ["caseload.asgi", "caseload.wsgi"])
def test_a_server_process_loads_the_index_and_fonts_at_start(entry_point: str) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "caseload.settings",
        "WARM_UP_AT_START": "true",
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("SERVER_MODE", None)
    result = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", SERVER_PROCESS, entry_point],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    # A few milliseconds here (seconds without the warm-up); generous for a busy machine.
    assert figures["search"] < 0.3, f"first search {figures['search']:.3f}s"
    # About 0.3 s here (3–5 s without the warm-up); generous for a busy machine.
    assert figures["pdf"] < 2.0, f"first PDF {figures['pdf']:.2f}s"
