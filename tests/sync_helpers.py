"""What the sync tests compare: the simulator's account against the mirror rows."""

from datetime import UTC, datetime

from artifacts_app.asc import AscClient
from artifacts_app.models import CiArtifact, CiBuildAction, CiBuildRun


def fast_client(simulator, tokens, **options) -> AscClient:
    """A client for the simulator that backs off in no time instead of seconds."""
    options.setdefault("timeout", (2, 5))
    return AscClient(
        simulator.base_url, tokens, backoff=0.001, sleep=lambda _seconds: None, **options
    )


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def upstream_artifacts(dataset) -> set[tuple]:
    """Every artifact the API lists now: id, name, type, size and all its parents."""
    return {
        (
            artifact.id,
            artifact.file_name,
            artifact.file_type,
            artifact.file_size,
            artifact.action.id,
            artifact.action.run.id,
            artifact.action.run.workflow.id,
            artifact.action.run.product.id,
            _iso(artifact.action.run.created),
        )
        for artifact in dataset.all_visible_artifacts()
    }


def stored_artifacts() -> set[tuple]:
    rows = CiArtifact.objects.filter(gone_upstream_at__isnull=True).values_list(
        "asc_id",
        "file_name",
        "file_type",
        "file_size",
        "build_action__asc_id",
        "build_run__asc_id",
        "workflow__asc_id",
        "product__asc_id",
        "run_created_date",
    )
    return {(*row[:8], row[8].astimezone(UTC).isoformat(timespec="milliseconds")) for row in rows}


def upstream_runs(dataset) -> dict[str, str]:
    """Run id -> its execution progress, for every run the API lists now."""
    return {
        run.id: run.progress(dataset.now_ts)
        for product in dataset.products
        for run in dataset.visible_runs(product)
    }


def stored_runs() -> dict[str, str]:
    return dict(
        CiBuildRun.objects.filter(gone_upstream_at__isnull=True).values_list(
            "asc_id", "execution_progress"
        )
    )


def upstream_action_count(dataset) -> int:
    return sum(
        len(run.actions) for product in dataset.products for run in dataset.visible_runs(product)
    )


def stored_action_count() -> int:
    return CiBuildAction.objects.filter(gone_upstream_at__isnull=True).count()


def assert_mirror_matches(dataset):
    """The mirror holds exactly what the API lists: runs, actions and artifacts."""
    assert stored_runs() == upstream_runs(dataset)
    assert stored_action_count() == upstream_action_count(dataset)
    assert stored_artifacts() == upstream_artifacts(dataset)
