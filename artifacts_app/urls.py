from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("workflows/<str:asc_id>/", views.workflow_detail, name="workflow"),
    path("runs/<str:asc_id>/", views.run_detail, name="run"),
    path("artifacts/<str:asc_id>/download", views.archived_file, name="archived-file"),
    path("api/v1/stats", views.api_stats, name="api-stats"),
    path("api/v1/artifacts", views.api_artifacts, name="api-artifacts"),
    path("export.csv", views.export_csv, name="export-csv"),
    path("healthz", views.healthz, name="healthz"),
]
