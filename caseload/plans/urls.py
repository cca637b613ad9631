from django.urls import path

from caseload.plans import views

app_name = "plans"

base = "<uuid:client_id>/plans/"
plan = base + "<uuid:plan_id>/"

urlpatterns = [
    path(base + "create/", views.plan_create_choice, name="create"),
    path(base + "new/", views.plan_new, name="new"),
    path(base + "generate/", views.plan_generate, name="generate"),
    path(base + "drafts/<uuid:generation_id>/", views.generation_status, name="generation"),
    path(plan, views.plan_detail, name="plan"),
    path(plan + "edit/", views.plan_edit, name="edit"),
    path(plan + "diff/", views.plan_diff, name="diff"),
    path(plan + "versions/<int:number>/restore/", views.plan_restore, name="restore"),
    path(plan + "dates/", views.plan_dates, name="dates"),
    path(plan + "pdf/", views.plan_pdf, name="pdf"),
]
