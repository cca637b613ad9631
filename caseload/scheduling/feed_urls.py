from django.urls import path

from caseload.scheduling import feed_views

app_name = "feeds"

urlpatterns = [
    path("", feed_views.feed_list, name="list"),
    path("<uuid:feed_id>/revoke/", feed_views.feed_revoke, name="revoke"),
    path("<str:token>.ics", feed_views.feed_ics, name="ics"),
]
