from django.urls import path

from caseload.api import views

app_name = "api_tokens"

urlpatterns = [
    path("", views.token_list, name="list"),
    path("<uuid:token_id>/revoke/", views.token_revoke, name="revoke"),
]
