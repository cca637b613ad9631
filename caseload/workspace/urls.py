from django.urls import path

from caseload.workspace import views
from caseload.workspace.registry import DETAIL_TABS, FEATURE_TABS

app_name = "workspace"

urlpatterns = [
    path("", views.client_index, name="index"),
    path("<uuid:client_id>/", views.client_detail, name="detail"),
    # One URL per profile tab, named after it (`workspace:sessions` …): bookmarkable.
    *(
        path(f"<uuid:client_id>/{tab}/", views.client_tab, {"tab": tab}, name=tab)
        for tab in FEATURE_TABS
    ),
    *(
        path(f"<uuid:client_id>/{tab}/", views.client_details, {"section": tab}, name=tab)
        for tab in DETAIL_TABS
    ),
]
