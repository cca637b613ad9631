from django.urls import path

from caseload.clients import views

app_name = "clients"

urlpatterns = [
    path("add/", views.client_add, name="add"),
    path("<uuid:client_id>/archive/", views.client_archive, name="archive"),
    path("<uuid:client_id>/restore/", views.client_restore, name="restore"),
    path("<uuid:client_id>/remove/", views.client_remove, name="remove"),
    path("<uuid:client_id>/resend-invitation/", views.client_resend_invitation, name="resend"),
]
