"""Withdrawn reminders no longer hold the unique key (decision 0035).

A reminder withdrawn because its session was cancelled, or because the client turned reminders
off, kept the (session, offset, channel, start) key, so a session restored or a client who
opted back in was never reminded again. The key now covers live rows only; withdrawn rows are
kept, marked by `withdrawn_at`. Rows withdrawn before this migration are marked from their
"Withdrawn: …" error.
"""

from django.db import migrations, models
from django.db.models.functions import Coalesce


def mark_withdrawn(apps, schema_editor):
    SessionReminder = apps.get_model("scheduling", "SessionReminder")
    SessionReminder.objects.filter(
        delivery_status="failed", delivery_error__startswith="Withdrawn: "
    ).update(withdrawn_at=Coalesce("delivery_handed_at", "created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0001_scheduling"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="sessionreminder",
            name="one_reminder_per_session_offset_channel",
        ),
        migrations.AddField(
            model_name="sessionreminder",
            name="withdrawn_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="sessionreminder",
            constraint=models.UniqueConstraint(
                condition=models.Q(("withdrawn_at__isnull", True)),
                fields=("session", "offset_hours", "channel", "session_starts_at"),
                name="one_live_reminder_per_session_offset_channel",
            ),
        ),
        # Last: no schema change follows the data change in this transaction.
        migrations.RunPython(mark_withdrawn, migrations.RunPython.noop),
    ]
