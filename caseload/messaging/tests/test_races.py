"""Two messages sent at the same moment open one notification batch (SECURITY R1, MSG-3).

Each thread is held just before it would open a batch until the other gets there too; a
send locks the care relationship row first, so the second thread never gets there while
the first waits, and finds the first one's batch instead. PostgreSQL only (SQLite locks the
whole database).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from caseload.messaging import services
from caseload.messaging.models import Message, MessageNotification
from tests.test_races import Gate, run_together, split

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-level races need PostgreSQL; SQLite locks the whole database instead")


def test_two_messages_at_once_open_one_batch_and_queue_one_email(
    active_client, client_user, settings
):
    settings.MESSAGE_EMAIL_DELAY_SECONDS = 0

    def send(text):
        return lambda: services.message_send(
            relationship=active_client, actor=client_user, text=text
        )

    with Gate(MessageNotification, timeout=2) as gate:
        outcomes = run_together(send("first"), send("second"))

    _, failed = split(outcomes)
    assert failed == [], outcomes
    assert not gate.met, "the second send should have waited for the first one's lock"
    assert Message.objects.count() == 2
    assert MessageNotification.objects.filter(closed_at__isnull=True).count() == 1
    assert DBTaskResult.objects.filter(task_path__endswith="send_message_notification").count() == 1
