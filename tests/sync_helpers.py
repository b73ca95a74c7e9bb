"""What the sync tests compare: the simulator's account against the mirror rows."""

from datetime import UTC, datetime

from django.db.models import Count, Sum

from artifacts_app.asc import AscClient
from artifacts_app.models import ArtifactDailyTotal, CiArtifact, CiBuildAction, CiBuildRun


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


def move_a_run(dataset):
    """Move the newest run of a product with several workflows to another of its workflows."""
    product = next(p for p in dataset.products if len(p.workflows) > 1)
    moved = product.runs[-1]
    other = next(w for w in product.workflows if w is not moved.workflow)
    moved.workflow = other
    return product, moved, other


def assert_daily_totals_match(artifacts, **rollup_filter):
    """The dashboard's daily totals add up to exactly these artifacts: count and bytes."""
    rolled = ArtifactDailyTotal.objects.filter(**rollup_filter).aggregate(
        n=Sum("count"), b=Sum("bytes")
    )
    stored = artifacts.aggregate(n=Count("id"), b=Sum("file_size"))
    assert (rolled["n"] or 0, rolled["b"] or 0) == (stored["n"], stored["b"] or 0)
