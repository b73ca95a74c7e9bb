from django.urls import path, register_converter

from . import ops_views, views
from .contents import views as contents_views


class AscIdConverter:
    """Any non-empty App Store Connect id: Apple's ids are opaque, and a mirrored row whose id
    holds a slash or a line break must still have a page and a link."""

    regex = r"[\s\S]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(AscIdConverter, "asc_id")

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("workflows/<asc_id:asc_id>/", views.workflow_detail, name="workflow"),
    path("runs/<asc_id:asc_id>/", views.run_detail, name="run"),
    path("artifacts/<asc_id:asc_id>/download", views.archived_file, name="archived-file"),
    path("api/v1/stats", views.api_stats, name="api-stats"),
    path("api/v1/artifacts", views.api_artifacts, name="api-artifacts"),
    path(
        "api/v1/artifacts/<str:asc_id>/contents",
        contents_views.api_contents,
        name="api-artifact-contents",
    ),
    path(
        "api/v1/runs/<str:asc_id>/contents-diff",
        contents_views.api_contents_diff,
        name="api-run-contents-diff",
    ),
    path("export.csv", views.export_csv, name="export-csv"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("api/v1/usage", ops_views.api_usage, name="api-usage"),
    path("usage/", ops_views.usage_page, name="usage"),
    path("sync/", ops_views.sync_health_page, name="sync-health"),
]
