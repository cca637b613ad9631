"""A process gets the ICD-10-CM index from its file: fast, small, without parsing the XML."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from caseload.clinical import icd10

ROOT = Path(__file__).resolve().parents[3]

FRESH_PROCESS = """
import json, os, sys, time

class NoXmlPackage:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "simple_icd_10_cm":
            raise ImportError("a process must not parse the ICD-10-CM XML itself")

sys.meta_path.insert(0, NoXmlPackage())
import django
django.setup()
from caseload.clinical import icd10

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

before = rss()
started = time.perf_counter()
found = icd10.search("generalized anx", limit=15)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "grown": rss() - before, "first": found[0].code}))
"""


@pytest.fixture(scope="module")
def index_file() -> Path:
    icd10.get_index()  # builds the file if this checkout has none yet
    path = icd10.cache_path()
    assert path.is_file()
    return path


def test_a_fresh_process_loads_the_index_from_its_file_quickly_and_small(
    index_file: Path,
) -> None:
    result = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", FRESH_PROCESS],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "caseload.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["first"] == "F41.1"
    assert figures["grown"] <= 50 * 2**20, f"{figures['grown'] / 2**20:.0f} MB"
    assert figures["seconds"] < 1.0, f"first search took {figures['seconds']:.2f}s"


def test_the_file_holds_the_same_index_as_a_build(index_file: Path) -> None:
    loaded = icd10._read_cache(index_file)
    assert loaded is not None
    built = icd10.get_index()
    assert loaded.state() == built.state()
    assert loaded.search("ptsd") == built.search("ptsd")


def test_an_unreadable_index_file_is_not_used(tmp_path: Path) -> None:
    broken = tmp_path / "icd10-index-broken.marshal"
    broken.write_bytes(b"\x00not marshal data")
    assert icd10._read_cache(broken) is None
    assert icd10._read_cache(tmp_path / "missing.marshal") is None


def test_the_file_name_changes_with_the_code_set_release_or_the_indexing_code() -> None:
    name = icd10.cache_path().name
    assert name.startswith("icd10-index-") and name.endswith(".marshal")
    assert icd10.cache_path() == icd10.cache_path()
