"""Contents of artifacts in pages and JSON: one artifact's components, and "what grew"."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from ..models import CiBuildRun, CiWorkflow
from . import queries
from .models import ArtifactContents


class BadChoice(ValueError):
    """A query parameter naming a run or artifact that is not there: a 400 naming it."""


@require_GET
def api_contents(request, asc_id):
    contents = (
        ArtifactContents.objects.visible_to(request.user)
        .select_related("artifact")
        .filter(artifact__asc_id=asc_id, status=ArtifactContents.Status.INSPECTED)
        .first()
    )
    if contents is None:
        return JsonResponse(
            {"error": f"no inspected artifact with id {asc_id!r}: unknown, or not inspected yet"},
            status=404,
        )
    return JsonResponse(queries.contents_payload(contents))


@require_GET
def api_contents_diff(request, asc_id):
    """`/api/v1/runs/<id>/contents-diff[?against=NUMBER][&artifact=ID]`."""
    run = CiBuildRun.objects.visible_to(request.user).filter(asc_id=asc_id).first()
    if run is None:
        return JsonResponse({"error": f"no build run with id {asc_id!r}"}, status=404)
    try:
        artifact, against = choose(run, request.GET)
    except BadChoice as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if artifact is None:
        return JsonResponse({"error": "this run has no inspected zip artifact"}, status=404)
    return JsonResponse(queries.diff_payload(run, artifact, against))


def choose(run: CiBuildRun, params) -> tuple:
    """The run's artifact to show (`artifact=ID`, else the preferred one) and the run to
    compare with (`against=NUMBER`, else the baseline)."""
    artifacts = queries.run_artifacts(run)
    wanted = params.get("artifact")
    artifact = artifacts[0] if artifacts else None
    if wanted:
        artifact = next((a for a in artifacts if a.asc_id == wanted), None)
        if artifact is None:
            raise BadChoice(f"artifact: {wanted!r} is not an inspected artifact of this run")
    number = (params.get("against") or "").strip().lstrip("#")
    if not number:
        return artifact, queries.other_run(run, None)
    if not number.isdigit():
        raise BadChoice(f"against: {number!r} is not a run number")
    against = queries.other_run(run, int(number))
    if against is None:
        raise BadChoice(f"against: this workflow has no run #{number}")
    return artifact, against


def run_context(run: CiBuildRun, params) -> dict:
    """What the run page's contents section needs (its error, if a parameter is unusable)."""
    try:
        artifact, against = choose(run, params)
        error = ""
    except BadChoice as exc:
        params = {}
        artifact, against = choose(run, params)
        error = str(exc)
    if artifact is None:
        return {"contents_error": error}
    diff = queries.diff_payload(run, artifact, against)
    return {
        "contents_error": error,
        "contents": artifact.contents,
        "contents_artifact": artifact,
        "contents_artifacts": queries.run_artifacts(run),
        "contents_diff": diff,
        "contents_against": against,
        "contents_against_baseline": not params.get("against"),
        "treemap_data": {"components": queries.treemap_data(artifact)},
    }


def workflow_context(workflow: CiWorkflow) -> dict:
    return {"components_trend": queries.top_components_over_time(workflow)}
