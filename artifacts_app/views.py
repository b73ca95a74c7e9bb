from datetime import timedelta
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_not_required
from django.db.models import Prefetch
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import runs, stats
from .archive import archive_storage, archive_summary, download_name
from .baselines import baseline_for, destination_baseline_for
from .contents import views as contents_views
from .forms import GRANULARITIES, PRESET_DAYS, FilterForm, today_utc
from .health import overall_errors_for, sync_health
from .models import (
    ArchivedArtifact,
    CiArtifact,
    CiBuildRun,
    CiProduct,
    CiWorkflow,
    FileType,
    workflow_label,
)
from .run_list import attach_sizes, run_queryset, run_sums

BRANCH_SUGGESTIONS = 200
# The newest runs of the range whose branches are suggested.
BRANCH_SUGGESTION_RUNS = 1000
# Runs a commit search lists at most (a commit is built by a few workflows, a prefix may match
# a few commits).
FIND_LIMIT = 50


@require_GET
def dashboard(request):
    form = FilterForm(request.GET, user=request.user)
    f, error = _scope_or_default(form)
    kpis = stats.kpis(f)
    share = stats.share_by_type(f)
    trend = runs.trend_and_regressions(f)
    # Several accounts in view: compare them (one account's page has nothing to compare).
    accounts = stats.by_account(f) if len(f.account_pks) > 1 else None
    context = {
        "filters": f,
        "error": error,
        "by_account": accounts,
        "has_artifacts": f.of_accounts(CiArtifact.objects).exists(),
        # Nothing granted while accounts exist (with none yet, there is nothing to grant).
        "has_account": bool(form.visible_accounts) or form.sees_every_account,
        "options": _filter_options(f, form.visible_accounts),
        "kpis": kpis,
        "share": share,
        "trend": trend,
        "largest": stats.largest_artifacts(f),
        "runs": runs.latest_runs(f),
        "main_sizes": runs.main_artifact_sizes(f),
        "main_days": runs.MAIN_COMPARE_DAYS,
        "foreign_workflows": _foreign_workflows(f),
        "archive": archive_summary(
            artifacts=stats.scoped_artifacts(f) if f.narrowed else None,
            total_artifacts=kpis["artifacts"],
            account_pks=None if f.every_account else f.account_pks,
        ),
        "chart_data": {
            "granularity": f.granularity,
            "type_labels": dict(FileType.choices),
            "periods": stats.periods(f),
            "partial": stats.partial_periods(f, today_utc()),
            "series": stats.series(f),
            "share": share,
            "trend": trend,
            "accounts": accounts,
        },
        "type_choices": FileType.choices,
        **_queries(f),
    }
    return render(request, "artifacts/dashboard.html", context, status=400 if error else 200)


@require_GET
def workflow_detail(request, asc_id):
    workflows = CiWorkflow.objects.visible_to(request.user).select_related("product")
    workflow = get_object_or_404(workflows, asc_id=asc_id)
    f, error = _scope_or_default(FilterForm(request.GET, user=request.user, workflow=workflow))
    trend = runs.trend_and_regressions(f)
    share = stats.share_by_type(f)
    context = {
        "workflow": workflow,
        "filters": f,
        "error": error,
        "kpis": stats.kpis(f),
        "share": share,
        "trend": trend,
        "runs": runs.latest_runs(f, limit=50),
        "chart_data": {
            "granularity": f.granularity,
            "partial": stats.partial_periods(f, today_utc()),
            "trend": trend,
            "share": share,
        },
        "main_sizes": runs.main_artifact_sizes(f),
        "main_days": runs.MAIN_COMPARE_DAYS,
        "type_choices": FileType.choices,
        **_queries(f),
        **contents_views.workflow_context(workflow),
    }
    return render(request, "artifacts/workflow.html", context, status=400 if error else 200)


@require_GET
def run_detail(request, asc_id):
    visible = CiBuildRun.objects.visible_to(request.user).select_related("workflow", "product")
    run = get_object_or_404(visible, asc_id=asc_id)
    actions = run.actions.order_by("name", "id").prefetch_related(
        Prefetch("artifacts", queryset=CiArtifact.objects.select_related("archive"))
    )
    by_type = runs.run_totals_by_type(run)
    total = sum(row["bytes"] for row in by_type)  # a few file types, already aggregated
    comparisons = [
        (label, other)
        for label, other in (
            ("", baseline_for(run)),
            (run.destination_branch_name, destination_baseline_for(run)),
        )
        if other is not None
    ]
    sums = run_sums([other.pk for _, other in comparisons])
    context = {
        "run": run,
        "actions": actions,
        "by_type": by_type,
        "total": total,
        # Artifacts arrive as a run finishes: until then there is no change to show.
        "comparisons": [
            {"branch": label, "run": other, "delta": total - sums.get(other.pk, (0, 0))[1]}
            for label, other in comparisons
        ]
        if run.is_finished
        else [],
        **contents_views.run_context(run, request.GET),
    }
    return render(request, "artifacts/run.html", context)


@require_GET
def find_runs(request):
    """Runs of a commit (a SHA or a 7+ digit prefix): the run itself when only one matches."""
    form = FilterForm(request.GET, user=request.user)
    found, error = [], None
    if not form.is_valid():
        error = form.error_line()
    elif not form.scope.commit:
        error = "commit: give a commit SHA or at least 7 hex digits"
    else:
        found = list(run_queryset(form.scope)[:FIND_LIMIT])
        if len(found) == 1:
            return redirect("run", found[0].asc_id)
        attach_sizes(found)
    context = {
        "commit": request.GET.get("commit", "")[:64],
        "runs": found,
        "error": error,
        "limit": FIND_LIMIT,
    }
    return render(request, "artifacts/runs.html", context, status=400 if error else 200)


@require_GET
def archived_file(request, asc_id):
    """An artifact's copy from our archive storage, under Apple's file name."""
    record = get_object_or_404(
        ArchivedArtifact.objects.visible_to(request.user).select_related("artifact"),
        artifact__asc_id=asc_id,
        status=ArchivedArtifact.Status.ARCHIVED,
    )
    try:
        handle = archive_storage().open(record.path, "rb")
    except OSError:
        raise Http404(
            "The archived file is missing; `archive_artifacts --verify` finds such files."
        ) from None
    name = download_name(record.artifact.file_name, fallback=f"{record.artifact.asc_id}.zip")
    return FileResponse(handle, as_attachment=True, filename=name)


@login_not_required
@never_cache
@require_GET
def healthz(request):
    user = request.user
    return JsonResponse(sync_health(with_errors=overall_errors_for(user), user=user))


# --- Helpers -----------------------------------------------------------------------------


def _scope_or_default(form):
    """A page's scope and no error, or the default scope and the error line to show."""
    if form.is_valid():
        return form.scope, None
    return (
        FilterForm.default_scope(user=form.user, workflow=form.fixed_workflow),
        form.error_line(),
    )


def _queries(f):
    """What every filtered page's template needs besides its figures: query strings for
    links (the whole view for the export, just the range for drill-downs) and the range's
    choices."""
    return {
        "query": urlencode(f.query()),
        "range_query": urlencode(f.query()[:3]),
        "granularities": GRANULARITIES,
    }


def _filter_options(f, visible_accounts):
    """The choices of the dashboard's filter bar, as (value, label) pairs: within the
    accounts the scope reads (the account list itself offers every visible one)."""
    products = (
        f.of_accounts(CiProduct.objects)
        .order_by("name", "id")
        .values_list("asc_id", "name", "account__name")
    )
    # Every workflow, each tagged with its product: filters.js narrows the list as products
    # are chosen (and the template hides the others for a page loaded with products chosen).
    workflows = (
        f.of_accounts(CiWorkflow.objects)
        .order_by("product__name", "name", "id")
        .values_list("asc_id", "name", "product__name", "product__asc_id", "account__name")
    )
    today = today_utc()
    presets = [
        {
            "days": days,
            "start": (today - timedelta(days=days - 1)).isoformat(),
            "end": today.isoformat(),
            "selected": f.end == today and f.days == days,
        }
        for days in PRESET_DAYS
    ]
    # Branch and tag names of the range's newest runs, offered as the branch field's
    # suggestions: read down `run_created_idx`, not from a whole year of runs.
    newest = (
        f.of_accounts(CiBuildRun.objects)
        .filter(created_date__gte=f.start_datetime, created_date__lt=f.end_datetime)
        .order_by("-created_date", "-number")
        .values_list("source_ref_name", flat=True)[:BRANCH_SUGGESTION_RUNS]
    )
    branches = sorted(set(newest) - {""})[:BRANCH_SUGGESTIONS]
    return {
        # Offered only to a user who sees more than one account.
        "accounts": [(name, name) for name, _ in visible_accounts]
        if len(visible_accounts) > 1
        else [],
        # Two teams often name their apps alike: with several accounts, say whose each is.
        "products": [
            (asc_id, f"{name} ({account})" if f.several_accounts else name)
            for asc_id, name, account in products
        ],
        "branches": branches,
        "workflows": [
            (
                asc_id,
                workflow_label(f"{product} ({account})" if f.several_accounts else product, name),
                product_id,
            )
            for asc_id, name, product, product_id, account in workflows
        ],
        "file_types": FileType.choices,
        "presets": presets,
        "custom": not any(p["selected"] for p in presets),
    }


def _foreign_workflows(f):
    """Workflows asked for that belong to none of the products asked for: they match nothing,
    and the page says so instead of showing zeros."""
    if not (f.product_pks and f.workflow_pks):
        return []
    return list(
        CiWorkflow.objects.filter(pk__in=f.workflow_pks)
        .exclude(product_id__in=f.product_pks)
        .select_related("product")
    )
