"""The "Calendar feed" page (create, list, revoke) and the feed itself (SCH-4)."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caseload.accounts.http import AuthenticatedHttpRequest
from caseload.lib.http import AuditContext
from caseload.practices.http import clinician_required
from caseload.scheduling import feeds


@require_http_methods(["GET", "POST"])
@clinician_required
def feed_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    created_url = ""
    error = ""
    if request.method == "POST":
        try:
            created = feeds.feed_create(actor=request.user, audit_context=request.audit_context)
        except feeds.FeedError as refused:
            error = str(refused)
        else:
            created_url = f"{settings.SITE_URL}{feeds.feed_link(created.token)}"
    return render(
        request,
        "scheduling/feeds.html",
        {
            "created_url": created_url,
            "error": error,
            "feeds": list(feeds.feeds_for(request.user)),
        },
        status=400 if error else 200,
    )


@require_POST
@clinician_required
def feed_revoke(request: AuthenticatedHttpRequest, feed_id: UUID) -> HttpResponse:
    feed = feeds.get_feed_for_user(request.user, feed_id)
    feeds.feed_revoke(actor=request.user, feed=feed, audit_context=request.audit_context)
    messages.success(request, "Calendar feed revoked. Its address no longer works.")
    return redirect("feeds:list")


@require_GET
def feed_ics(request: HttpRequest, token: str) -> HttpResponse:
    """The feed, for a calendar app: no sign-in, the token is the key. Unknown or revoked, or
    its clinician no longer one: 404."""
    audit_context = AuditContext.from_request(request)
    feed = feeds.feed_for_token(token)
    if feed is None:
        feeds.feed_refused(token=token, audit_context=audit_context)
        raise Http404("No such feed.")
    body, events = feeds.feed_ics(feed)
    feeds.feed_fetched(feed, events=events, audit_context=audit_context)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = 'inline; filename="caseload.ics"'
    return response
