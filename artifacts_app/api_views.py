"""The JSON API (`/api/v1/stats`, `artifacts`, `runs`) and the CSV export: each takes the
request's filters as a `Scope` through `with_filters`."""

import csv
from functools import wraps

from django.core.paginator import EmptyPage, Paginator
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from . import stats
from .forms import FilterForm
from .run_list import attach_sizes, run_json, run_queryset

API_PAGE_SIZE = 100
CSV_COLUMNS = [
    "id",
    "file_name",
    "file_type",
    "file_size",
    "archived",
    "build_run_id",
    "build_run_number",
    "build_run_created_date",
    "action_id",
    "action_name",
    "action_type",
    "workflow_id",
    "workflow_name",
    "product_id",
    "product_name",
]


def with_filters(view):
    """Hand `view` the request's `Scope`; a parameter it cannot use is a 400 naming it."""

    @wraps(view)
    def parsed(request, *args, **kwargs):
        form = FilterForm(request.GET, user=request.user)
        if not form.is_valid():
            return JsonResponse({"error": form.error_line()}, status=400)
        return view(request, form.scope, *args, **kwargs)

    return parsed


@require_GET
@with_filters
def api_stats(request, f):
    return JsonResponse(stats.stats_payload(f))


@require_GET
@with_filters
def api_artifacts(request, f):
    related = ("build_run", "build_action", "workflow", "product")
    qs = stats.with_archived(stats.artifact_queryset(f).select_related(*related))
    return _paginated(request, qs, f.page, lambda artifacts: map(_artifact_json, artifacts))


@require_GET
@with_filters
def api_runs(request, f):
    def results(page):
        page = list(page)
        attach_sizes(page, f.file_types)
        return map(run_json, page)

    return _paginated(request, run_queryset(f), f.page, results)


@require_GET
@with_filters
def export_csv(request, f):
    rows = stats.with_archived(stats.artifact_queryset(f)).values_list(
        "asc_id",
        "file_name",
        "file_type",
        "file_size",
        "archived",
        "build_run__asc_id",
        "build_run__number",
        "run_created_date",
        "build_action__asc_id",
        "build_action__name",
        "build_action__action_type",
        "workflow__asc_id",
        "workflow__name",
        "product__asc_id",
        "product__name",
    )
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(CSV_COLUMNS)
        for row in rows.iterator(chunk_size=2000):
            yield writer.writerow([_csv_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    filename = f"artifacts-{f.start.isoformat()}-{f.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _paginated(request, qs, number, serialize):
    """One page of `qs` as `{"count", "next", "results"}`; `serialize` maps a page's rows."""
    paginator = Paginator(qs, API_PAGE_SIZE)
    try:
        page = paginator.page(number)
    except EmptyPage:
        return JsonResponse(
            {"error": f"page: there are only {paginator.num_pages} pages"}, status=400
        )
    next_url = None
    if page.has_next():
        params = request.GET.copy()
        params["page"] = str(number + 1)
        next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
    return JsonResponse(
        {
            "count": paginator.count,
            "next": next_url,
            "results": list(serialize(page.object_list)),
        }
    )


def _artifact_json(artifact):
    run = artifact.build_run
    action = artifact.build_action
    workflow = artifact.workflow
    return {
        "id": artifact.asc_id,
        "file_name": artifact.file_name,
        "file_type": artifact.file_type,
        "file_size": artifact.file_size,
        "archived": bool(artifact.archived),
        "build_run": {
            "id": run.asc_id,
            "number": run.number,
            "created_date": run.created_date.isoformat() if run.created_date else None,
        },
        "action": {"id": action.asc_id, "name": action.name, "action_type": action.action_type},
        "workflow": {"id": workflow.asc_id, "name": workflow.name} if workflow else None,
        "product": {"id": artifact.product.asc_id, "name": artifact.product.name},
    }


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv.writer."""

    def write(self, value):
        return value


def _csv_cell(value):
    """Defuse spreadsheet formulas: a text cell starting with = + - @ (or tab/CR) is quoted."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
