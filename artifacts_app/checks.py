"""System checks that catch a broken set-up before the first request does."""

from django.conf import settings
from django.core.checks import Warning, register


@register()
def chart_js_installed(app_configs, **kwargs):
    chart_js = settings.BASE_DIR / "node_modules" / "chart.js" / "dist" / "chart.umd.js"
    if chart_js.exists() or (settings.STATIC_ROOT / "vendor" / "chart.js").exists():
        return []
    return [
        Warning(
            "Chart.js is not installed, so the dashboard cannot draw charts.",
            hint="Run `npm ci` (or `make run`, which does it).",
            id="artifacts_app.W001",
        )
    ]
