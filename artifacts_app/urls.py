from django.urls import path, register_converter

from . import api_views, ops_views, token_views, views
from .budgets import views as budget_views
from .contents import views as contents_views
from .webhooks import views as webhook_views


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
    path("runs/", views.find_runs, name="runs"),
    path("account/tokens/", token_views.my_tokens, name="my-tokens"),
    path("account/tokens/<int:pk>/revoke", token_views.revoke_my_token, name="revoke-my-token"),
    path("runs/<asc_id:asc_id>/", views.run_detail, name="run"),
    path("artifacts/<asc_id:asc_id>/download", views.archived_file, name="archived-file"),
    path("api/v1/stats", api_views.api_stats, name="api-stats"),
    path("api/v1/artifacts", api_views.api_artifacts, name="api-artifacts"),
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
    path("api/v1/runs", api_views.api_runs, name="api-runs"),
    path("export.csv", api_views.export_csv, name="export-csv"),
    path("healthz", views.healthz, name="healthz"),
    path("hooks/xcode-cloud/", webhook_views.webhook_settings, name="webhook-settings"),
    path("hooks/xcode-cloud/<str:token>", webhook_views.xcode_cloud, name="xcode-cloud-webhook"),
    path("violations/", budget_views.violations, name="violations"),
    path("violations/acknowledge", budget_views.acknowledge, name="acknowledge-violation"),
    path("api/v1/violations", budget_views.api_violations, name="api-violations"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("api/v1/usage", ops_views.api_usage, name="api-usage"),
    path("usage/", ops_views.usage_page, name="usage"),
    path("sync/", ops_views.sync_health_page, name="sync-health"),
]
