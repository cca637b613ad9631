from django.contrib import admin

from caseload.practices.models import Membership, Practice


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin[Practice]):
    list_display = ["name", "time_zone", "billing_enabled", "child_accounts_enabled"]
    search_fields = ["name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "practice", "role", "supervisor"]
    list_filter = ["role", "practice"]
    raw_id_fields = ["user", "supervisor"]
