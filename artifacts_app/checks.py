"""System checks that catch a broken set-up before the first request does."""

from django.conf import settings
from django.core.checks import Error, Warning, register


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


@register()
def every_account_admin_is_scoped(app_configs, **kwargs):
    """An admin class for rows of an account must show each user only the accounts granted
    to them: a class that does not inherit `AccountScopedAdmin` would show every account."""
    from django.contrib import admin

    from .admin_visibility import AccountScopedAdmin

    return [
        Error(
            f"The admin of {model._meta.label} shows every account's rows.",
            hint="Inherit artifacts_app.admin_visibility.AccountScopedAdmin.",
            obj=type(model_admin),
            id="artifacts_app.E001",
        )
        for model, model_admin in admin.site._registry.items()
        if hasattr(model._default_manager, "visible_to")
        and model._meta.model_name != "account"
        and not isinstance(model_admin, AccountScopedAdmin)
    ]
