from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from caseload.api.routes import api_urls
from caseload.clinical import views as clinical_views
from caseload.documents import urls as documents_urls
from caseload.lib import views as site_views
from caseload.portal import views as portal_views
from caseload.visits import views as visits_views
from caseload.workspace import views as workspace_views

admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Caseload administration"

urlpatterns = [
    path("", workspace_views.home, name="home"),
    path("health/", site_views.health, name="health"),
    path("accounts/", include("allauth.urls")),
    path("clients/import/", include("caseload.imports.urls")),
    path("clients/", include("caseload.workspace.urls")),
    path("clients/", include("caseload.clients.urls")),
    path("clients/", include("caseload.clinical.urls")),
    path("clients/", include("caseload.visits.urls")),
    path("clients/", include("caseload.plans.urls")),
    path("clients/", include("caseload.documents.urls")),
    path("", include("caseload.exports.urls")),
    path(
        "documents/templates/",
        include((documents_urls.template_patterns, "document_templates")),
    ),
    path("clinical/icd10/", clinical_views.icd10_search, name="icd10_search"),
    path("sessions/", visits_views.agenda, name="agenda"),
    path("calendar/requests/", include("caseload.scheduling.booking_urls")),
    path("calendar/feeds/", include("caseload.scheduling.feed_urls")),
    path("calendar/", include("caseload.scheduling.urls")),
    path("supervision/", visits_views.supervision_queue, name="supervision"),
    path("portal/", include("caseload.portal.urls")),
    path("", include("caseload.messaging.urls")),
    path("practice/", include("caseload.practices.urls")),
    path("invite/<str:token>/", portal_views.invitation_open, name="invitation_open"),
    path(
        "invite/<str:token>/signup/", portal_views.invitation_start_signup, name="invitation_signup"
    ),
    path("invite/<str:token>/respond/", portal_views.invitation_respond, name="invitation_respond"),
    path("api/v1/", api_urls()),
    path("account/api-tokens/", include("caseload.api.urls")),
    path("django-admin/", admin.site.urls),
]

if settings.DEBUG:
    urlpatterns.append(path("outbox/", site_views.outbox, name="outbox"))
