"""Pages and endpoints for running the dashboard: /metrics, compute usage, sync health."""

import hmac
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from . import usage
from .api_views import with_filters
from .forms import FilterForm, today_utc
from .metrics import render_metrics
from .sync_status import sync_overview

USAGE_MONTHS = 12


@login_not_required
@never_cache
@require_GET
def metrics(request):
    """Prometheus text format for `Authorization: Bearer <METRICS_TOKEN>`.

    404 while no token is configured (the endpoint does not exist), 401 for any other token.
    """
    expected = settings.METRICS_TOKEN
    if not expected:
        return HttpResponse("Not found: set METRICS_TOKEN to enable /metrics\n", status=404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        response = HttpResponse("Unauthorized: send Authorization: Bearer <METRICS_TOKEN>\n")
        response.status_code = 401
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # Our names are all plain ones: the classic text format every Prometheus version reads.
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


@require_GET
@with_filters
def api_usage(request, f):
    return JsonResponse(usage.usage_payload(f))


@require_GET
def usage_page(request):
    """Estimated compute hours per month by workflow, against the plan, and this month's pace."""
    params = request.GET.copy()
    if not params.get("start"):
        first = today_utc().replace(day=1)
        params["start"] = (
            (first - timedelta(days=31 * (USAGE_MONTHS - 1))).replace(day=1).isoformat()
        )
    params["granularity"] = "month"
    form = FilterForm(params, user=request.user)
    if form.is_valid():
        f, error = form.scope, None
    else:
        fallback = QueryDict(f"granularity=month&start={params['start']}")
        f, error = FilterForm(fallback, user=request.user).scope, form.error_line()
    plan = settings.USAGE_PLAN_HOURS
    chart = usage.monthly_chart(f, plan)
    context = {
        "filters": f,
        "error": error,
        "how": usage.HOW,
        "burn": usage.burn_rate(f, plan),
        "chart": chart,
        "has_usage": bool(chart["months"]),
    }
    return render(request, "artifacts/usage.html", context, status=400 if error else 200)


@require_GET
def sync_health_page(request):
    """Staff only: per account, every recent pass, the API budget, backfill progress, the
    queue of webhook runs, the next pass."""
    if not request.user.is_staff:
        raise PermissionDenied("The sync health page is for staff.")
    return render(request, "artifacts/sync_health.html", sync_overview(request.user))
