"""How a simulated run turns out: its refs and outcome, its actions, their artifacts' sizes.

Each run draws from a random stream of its own, named by the account's seed and the run's
index, so runs added later do not disturb the ones before them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .catalog import (
    AUTHORS,
    HOSTILE_NAMES,
    MESSAGES,
    PULL_REQUEST_BRANCHES,
    TAGS,
    GiB,
    MiB,
)
from .records import SimAction, SimArtifact, SimProduct, SimRun, random_uuid


def seeded(seed: int, *parts: object) -> random.Random:
    """The random stream named by ``parts`` within the account of ``seed``."""
    return random.Random("/".join(str(p) for p in (seed, *parts)))


@dataclass(frozen=True)
class RunFactory:
    """Makes the runs of one account, whose history spans ``span`` seconds from ``start``."""

    seed: int
    start: float
    span: float
    hostile_names: bool = False
    size_scale: float = 1.0

    def make_run(
        self, products: list[SimProduct], index: int, created: float, now: float, live: bool
    ) -> SimRun:
        """Run number ``index`` of the account, created at ``created``, with its actions and
        their artifacts; ``live`` runs are still queued or running at ``now``."""
        rng = seeded(self.seed, "run", index)
        product = products[_weighted_index(rng, len(products))]
        workflow = rng.choice(product.workflows)
        kind = workflow.kind
        destination = None
        is_pr = False
        if kind == "release":
            source, reason = product.refs[rng.choice(TAGS)], "GIT_REF_CHANGE"
        elif kind == "nightly":
            source, reason = product.refs["main"], "SCHEDULE"
        elif kind == "pr":
            source = product.refs[rng.choice(PULL_REQUEST_BRANCHES)]
            destination, is_pr = product.refs["main"], True
            reason = rng.choice(["PULL_REQUEST_OPEN", "PULL_REQUEST_UPDATE"])
        else:
            source = product.refs[rng.choice(["main", "main", "develop", "release/2.0"])]
            reason = rng.choice(["GIT_REF_CHANGE"] * 8 + ["MANUAL", "MANUAL_REBUILD"])
        roll = rng.random()
        if roll < 0.85:
            outcome, cancel_reason = "SUCCEEDED", None
        elif roll < 0.93:
            outcome, cancel_reason = "FAILED", None
        elif roll < 0.97:
            outcome = "CANCELED"
            cancel_reason = rng.choice(["AUTOMATICALLY_BY_NEWER_BUILD", "MANUALLY_BY_USER"])
        else:
            outcome, cancel_reason = "ERRORED", None
        run = SimRun(
            id=random_uuid(rng),
            index=index,
            product=product,
            workflow=workflow,
            number=len(product.runs) + 1,
            created=round(created, 3),
            queued=rng.uniform(30, 240) if index else 60.0,
            outcome=outcome,
            cancel_reason=cancel_reason,
            start_reason=reason,
            is_pull_request=is_pr,
            source_ref=source,
            destination_ref=destination,
            commit_sha=f"{rng.getrandbits(160):040x}",
            destination_sha=f"{rng.getrandbits(160):040x}" if destination else None,
            message=rng.choice(MESSAGES),
            author=rng.choice(AUTHORS),
            pull_request=product.pull_requests[source.name] if is_pr else None,
        )
        if live:
            # The newest runs: still queued if created minutes ago, otherwise still running.
            run.queued = 420.0 if created > now - 600 else 60.0
            run.outcome, run.cancel_reason = "SUCCEEDED", None
        failing = rng.randrange(len(workflow.action_specs))
        offset = 0.0
        for position, (name, action_type) in enumerate(workflow.action_specs):
            action_outcome = "SUCCEEDED"
            if run.outcome != "SUCCEEDED" and (position == failing or run.outcome == "CANCELED"):
                action_outcome = run.outcome
            action = SimAction(
                id=random_uuid(rng),
                run=run,
                name=name,
                action_type=action_type,
                start_offset=offset,
                duration=rng.uniform(40, 70) * 60 if live else rng.uniform(6, 30) * 60,
                outcome=action_outcome,
                is_required=position == 0 or action_type != "ANALYZE",
                issues=(
                    rng.randrange(0, 4) if action_type == "ANALYZE" else 0,
                    0 if action_outcome == "SUCCEEDED" else rng.randrange(1, 5),
                    rng.randrange(1, 9)
                    if action_type == "TEST" and action_outcome == "FAILED"
                    else 0,
                    rng.randrange(0, 40),
                ),
            )
            offset += rng.uniform(0, 120)  # actions mostly run in parallel
            action.artifacts = self._artifacts(rng, action)
            run.actions.append(action)
        return run

    def _artifacts(self, rng: random.Random, action: SimAction) -> list[SimArtifact]:
        run = action.run
        product = run.product
        growth = self._growth(product, run.created)
        scheme = product.name if not self.hostile_names else "App"
        label = f"{scheme} {run.number} {action.name}"
        specs: list[tuple[str, str, float]] = []
        if action.outcome == "SUCCEEDED":
            if action.action_type == "ARCHIVE":
                archive = product.archive_base * growth * rng.uniform(0.97, 1.03)
                if rng.random() < 0.01:
                    archive = max(archive * 2.4, 2.1 * GiB)  # the occasional giant archive
                specs += [
                    ("ARCHIVE", f"{scheme} {run.number}.xcarchive.zip", archive),
                    ("ARCHIVE_EXPORT", "app-store.zip", archive * rng.uniform(0.42, 0.48)),
                    ("ARCHIVE_EXPORT", "development.zip", archive * rng.uniform(0.5, 0.56)),
                ]
            elif action.action_type == "TEST":
                specs.append(
                    (
                        "TEST_PRODUCTS",
                        f"{label} Test Products.zip",
                        product.archive_base * 0.6 * growth * rng.uniform(0.9, 1.1),
                    )
                )
        if action.outcome in ("SUCCEEDED", "FAILED", "ERRORED"):
            result_base = 320 * MiB if action.action_type == "TEST" else 40 * MiB
            specs.append(
                (
                    "RESULT_BUNDLE",
                    f"{label} Result.xcresult.zip",
                    result_base * growth * rng.uniform(0.8, 1.2),
                )
            )
        specs.append(("LOG_BUNDLE", f"{label} Logs.zip", rng.uniform(2, 24) * MiB))
        artifacts = []
        for file_type, file_name, size in specs:
            if self.hostile_names and rng.random() < 0.25:
                file_name = rng.choice(HOSTILE_NAMES) + ".zip"
            artifacts.append(
                SimArtifact(
                    id=random_uuid(rng),
                    action=action,
                    file_type=file_type,
                    file_name=file_name,
                    file_size=max(1, int(size * self.size_scale)),
                )
            )
        return artifacts

    def stage(self, moment: float) -> float:
        """Where `moment` falls in the simulated history: 0 at its start, 1 at the first `now`."""
        return (moment - self.start) / self.span

    def _growth(self, product: SimProduct, created: float) -> float:
        """Sizes grow steadily, with two step regressions at product-specific moments."""
        fraction = self.stage(created)
        factor = 1 + 0.5 * fraction
        if fraction >= 0.35 + 0.05 * product.index:
            factor *= 1.25
        if fraction >= 0.75:
            factor *= 1.15
        return factor


def _weighted_index(rng: random.Random, count: int) -> int:
    """Earlier products are busier: weights 1, 1/2, 1/3, ..."""
    weights = [1 / (i + 1) for i in range(count)]
    return rng.choices(range(count), weights=weights)[0]
