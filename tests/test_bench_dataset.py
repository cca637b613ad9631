"""The benchmark's bulk load (bench/compare.py) still fits the schema: it writes rows with raw
SQL, so a new NOT NULL column would otherwise break it unnoticed until the next benchmark."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from django.db import connection

from caseload.clients.models import CareRelationship
from caseload.visits.models import ProgressNote

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]

COMPARE = Path(__file__).resolve().parent.parent / "bench" / "compare.py"


def load_compare() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_compare", COMPARE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_benchmarks_bulk_load_fills_every_required_column() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the bulk load is PostgreSQL SQL (generate_series, gen_random_uuid)")
    compare = load_compare()
    therapists, practices, per_therapist = 2, 1, 3
    with connection.cursor() as cursor:
        for label, sql in compare.bulk_sql(therapists, practices):
            if label == "sequences":
                continue  # setval isn't undone with the test's transaction
            # The load's ids start at 1: this test's database holds none of these rows yet.
            cursor.execute(sql.format(T=therapists, P=practices, C=per_therapist))
    relationships = CareRelationship.objects.filter(therapist__email__endswith="@bench.example")
    assert relationships.count() == therapists * per_therapist
    assert all(relationship.client_name for relationship in relationships)
    assert ProgressNote.objects.filter(session__relationship__in=relationships).exists()
