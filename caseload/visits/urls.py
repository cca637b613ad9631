from django.urls import path

from caseload.visits import views

app_name = "visits"

urlpatterns = [
    path("<uuid:client_id>/sessions/new/", views.session_new, name="session_new"),
    path("<uuid:client_id>/sessions/earlier/", views.session_history, name="session_history"),
    path("<uuid:client_id>/sessions/<uuid:session_id>/", views.session_detail, name="session"),
    path(
        "<uuid:client_id>/sessions/<uuid:session_id>/outcome/",
        views.session_outcome,
        name="session_outcome",
    ),
    path("<uuid:client_id>/sessions/<uuid:session_id>/note/", views.note_save, name="note_save"),
    path(
        "<uuid:client_id>/sessions/<uuid:session_id>/note/sign/", views.note_sign, name="note_sign"
    ),
    path(
        "<uuid:client_id>/sessions/<uuid:session_id>/note/addenda/",
        views.note_addendum,
        name="note_addendum",
    ),
    path(
        "<uuid:client_id>/sessions/<uuid:session_id>/note/cosign/",
        views.note_cosign,
        name="note_cosign",
    ),
    path(
        "<uuid:client_id>/sessions/<uuid:session_id>/note/send-back/",
        views.note_send_back,
        name="note_send_back",
    ),
]
