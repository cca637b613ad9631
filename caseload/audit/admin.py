from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from caseload.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """Read-only: audit events are append-only."""

    list_display = ["created_at", "actor_email", "actor_role", "action", "outcome", "ip_address"]
    list_filter = ["action", "outcome", "actor_role"]
    search_fields = ["actor_email", "action", "object_id", "request_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
