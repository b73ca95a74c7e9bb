"""Mirror rows for simulator artifacts, so archive tests need no sync pass."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from artifacts_app.models import CiArtifact

from .factories import make_artifact, make_build_action, make_build_run, make_product, make_workflow


def mirror(sim_artifacts, **overrides) -> list[CiArtifact]:
    """CiArtifact rows (with their parents) for these `SimArtifact`s, ids as the simulator's."""
    parents: dict[str, object] = {}
    rows = []
    for sim in sim_artifacts:
        action, run = sim.action, sim.action.run
        product = parents.get(run.product.id) or make_product(
            asc_id=overrides.get("product_id", run.product.id), name=run.product.name[:255]
        )
        parents[run.product.id] = product
        workflow = parents.get(run.workflow.id) or make_workflow(
            product, asc_id=overrides.get("workflow_id", run.workflow.id), name="wf"
        )
        parents[run.workflow.id] = workflow
        build_run = parents.get(run.id) or make_build_run(
            workflow,
            asc_id=overrides.get("run_id", run.id),
            number=run.number,
            created_date=datetime.fromtimestamp(run.created, UTC),
            source_ref_name=run.source_ref.name,
            source_ref_kind=run.source_ref.kind,
        )
        parents[run.id] = build_run
        build_action = parents.get(action.id) or make_build_action(
            build_run,
            asc_id=overrides.get("action_id", action.id),
            name=action.name,
            action_type=action.action_type,
        )
        parents[action.id] = build_action
        rows.append(
            make_artifact(
                build_action,
                asc_id=sim.id,
                file_type=sim.file_type,
                file_name=overrides.get("file_name", sim.file_name),
                file_size=sim.file_size,
            )
        )
    return rows


def finished_artifacts(simulator, count: int, file_type: str | None = None):
    """The first `count` artifacts the simulator lists (optionally of one type)."""
    found = [
        artifact
        for artifact in simulator.dataset.all_visible_artifacts()
        if file_type is None or artifact.file_type == file_type
    ]
    return found[:count]


def files_under(root: Path) -> list[Path]:
    """Archived files under `root`, ignoring the folder of downloads in progress."""
    return sorted(
        path for path in root.rglob("*") if path.is_file() and ".incoming" not in path.parts
    )
