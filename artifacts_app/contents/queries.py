"""What the pages and the JSON API show of artifact contents: plain dicts, ready for JSON.

Component rows are summed and compared per component name; a run's artifacts are matched
with the other run's by file type and, where both have it, file name (an export's
`app-store.zip` with the other run's `app-store.zip`).
"""

from __future__ import annotations

from django.db.models import QuerySet

from ..baselines import baseline_for
from ..models import CiArtifact, CiBuildRun, CiWorkflow, FileType
from .models import ArtifactComponent, ArtifactContents

# The artifact a run's contents are shown for, in order of preference.
PREFERRED_TYPES = [FileType.ARCHIVE, FileType.STAPLED_NOTARIZED_ARCHIVE, FileType.ARCHIVE_EXPORT]
TOP_COMPONENTS = 8
TREND_RUNS = 40


def contents_payload(contents: ArtifactContents) -> dict:
    """An inspected artifact as `/api/v1/artifacts/<id>/contents` answers it."""
    artifact = contents.artifact
    return {
        "id": artifact.asc_id,
        "file_name": artifact.file_name,
        "file_type": artifact.file_type,
        "inspected_at": contents.inspected_at.isoformat(),
        "entries": contents.entries,
        "uncompressed_bytes": contents.uncompressed_bytes,
        "compressed_bytes": contents.compressed_bytes,
        "components": list(
            contents.components.order_by("-uncompressed_bytes", "name").values(
                "name", "kind", "entries", "uncompressed_bytes", "compressed_bytes"
            )
        ),
        "source": contents.source,
        "notes": contents.notes.splitlines(),
        "thinning": contents.thinning,
    }


def inspected(artifacts: QuerySet[CiArtifact]) -> QuerySet[CiArtifact]:
    return artifacts.filter(contents__status=ArtifactContents.Status.INSPECTED).select_related(
        "contents"
    )


def run_artifacts(run: CiBuildRun) -> list[CiArtifact]:
    """The run's inspected artifacts, the preferred one first."""
    rows = list(inspected(run.artifacts.all()).order_by("file_type", "file_name", "pk"))
    return sorted(rows, key=_preference)


def counterpart(artifact: CiArtifact, run: CiBuildRun) -> CiArtifact | None:
    """`run`'s inspected artifact that matches `artifact` (same type, same name if any)."""
    same_type = inspected(run.artifacts.filter(file_type=artifact.file_type)).order_by(
        "file_name", "pk"
    )
    return same_type.filter(file_name=artifact.file_name).first() or same_type.first()


def other_run(run: CiBuildRun, number: int | None) -> CiBuildRun | None:
    """Run `number` of the same workflow, or the baseline when no number is given."""
    if number is None:
        return baseline_for(run)
    return CiBuildRun.objects.filter(workflow_id=run.workflow_id, number=number).first()


def diff(after: CiArtifact, before: CiArtifact | None) -> list[dict]:
    """Per component: bytes before and after and the change, largest change first.

    `status` is "added" or "removed" for a component only one side has, else "changed" or
    "same". Bytes are uncompressed (what the app holds); compressed figures come along.
    """
    new = _components(after)
    old = _components(before) if before is not None else {}
    rows = []
    for name in new.keys() | old.keys():
        a, b = new.get(name), old.get(name)
        after_bytes = a["uncompressed_bytes"] if a else 0
        before_bytes = b["uncompressed_bytes"] if b else 0
        change = after_bytes - before_bytes
        rows.append(
            {
                "name": name,
                "kind": (a or b)["kind"],
                "status": "added"
                if b is None
                else "removed"
                if a is None
                else ("changed" if change else "same"),
                "before_bytes": before_bytes if b else None,
                "after_bytes": after_bytes if a else None,
                "change_bytes": change,
                "before_compressed_bytes": b["compressed_bytes"] if b else None,
                "after_compressed_bytes": a["compressed_bytes"] if a else None,
            }
        )
    return sorted(rows, key=lambda row: (-abs(row["change_bytes"]), row["name"]))


def diff_payload(run: CiBuildRun, artifact: CiArtifact, against: CiBuildRun | None) -> dict:
    before = counterpart(artifact, against) if against is not None else None
    rows = diff(artifact, before)
    return {
        "run": _run(run),
        "against": _run(against) if against else None,
        "artifact": _artifact(artifact),
        "against_artifact": _artifact(before) if before else None,
        "change_bytes": sum(row["change_bytes"] for row in rows) if before else None,
        "components": rows,
    }


def treemap_data(artifact: CiArtifact) -> list[dict]:
    return list(
        artifact.contents.components.order_by("-uncompressed_bytes", "name").values(
            "name", "kind", "uncompressed_bytes", "compressed_bytes"
        )
    )


def top_components_over_time(workflow: CiWorkflow, file_type: str = FileType.ARCHIVE) -> dict:
    """The largest components of the workflow's newest inspected artifact of `file_type`,
    with their size in each of the last `TREND_RUNS` runs that have one (oldest first)."""
    artifacts = list(
        inspected(workflow.artifacts.filter(file_type=file_type))
        .select_related("build_run")
        .order_by("-build_run__number", "file_name", "pk")[: TREND_RUNS * 3]
    )
    latest_per_run: dict[int, CiArtifact] = {}
    for artifact in artifacts:  # one artifact per run: the first by file name
        latest_per_run.setdefault(artifact.build_run.number, artifact)
    chosen = sorted(latest_per_run.items())[-TREND_RUNS:]
    if not chosen:
        return {"file_type": file_type, "runs": [], "series": []}
    names = list(
        ArtifactComponent.objects.filter(contents__artifact=chosen[-1][1])
        .order_by("-uncompressed_bytes", "name")
        .values_list("name", flat=True)[:TOP_COMPONENTS]
    )
    sizes = {
        (contents_id, name): size
        for contents_id, name, size in ArtifactComponent.objects.filter(
            contents__artifact__in=[artifact for _n, artifact in chosen], name__in=names
        ).values_list("contents__artifact_id", "name", "uncompressed_bytes")
    }
    return {
        "file_type": file_type,
        "runs": [number for number, _artifact in chosen],
        "series": [
            {"name": name, "bytes": [sizes.get((a.pk, name), 0) for _n, a in chosen]}
            for name in names
        ],
    }


def _components(artifact: CiArtifact) -> dict[str, dict]:
    return {
        row["name"]: row
        for row in ArtifactComponent.objects.filter(contents__artifact=artifact).values(
            "name", "kind", "uncompressed_bytes", "compressed_bytes"
        )
    }


def _preference(artifact: CiArtifact) -> int:
    try:
        return PREFERRED_TYPES.index(artifact.file_type)
    except ValueError:
        return len(PREFERRED_TYPES)


def _run(run: CiBuildRun) -> dict:
    return {"id": run.asc_id, "number": run.number}


def _artifact(artifact: CiArtifact) -> dict:
    return {"id": artifact.asc_id, "file_name": artifact.file_name, "file_type": artifact.file_type}
