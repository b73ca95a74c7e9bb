"""A deterministic Xcode Cloud account: products, workflows, months of runs, their artifacts.

Everything derives from ``seed``: the same seed gives the same ids, names and sizes. Each run
draws from its own random stream, so a 10,000-run account builds in a second or two and runs
added later by ``advance()`` do not disturb the ones before them.

Time is simulated: ``now`` starts at a fixed instant (or one given) and only moves when a
test calls ``advance()``. A run's progress is derived from ``now``: the newest few are
PENDING or RUNNING, carrying Apple's nulls, and finish when the clock moves past them.
"""

from __future__ import annotations

import bisect
import random
import threading
from datetime import UTC, datetime, timedelta

from . import details
from .builds import RunFactory, seeded
from .catalog import (
    BRANCHES,
    HOSTILE_NAMES,
    PRODUCT_SPECS,
    PULL_REQUEST_BRANCHES,
    PULL_REQUEST_TITLES,
    TAGS,
    WORKFLOW_SPECS,
)
from .records import (
    SimAction,
    SimApp,
    SimArtifact,
    SimGitRef,
    SimIssue,
    SimProduct,
    SimPullRequest,
    SimRepository,
    SimRun,
    SimTestResult,
    SimWorkflow,
    random_uuid,
)

DEFAULT_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Dataset:
    """The simulated account. Thread-safe for one writer (``advance``) and many readers."""

    def __init__(
        self,
        seed: int = 1,
        runs: int = 200,
        products: int = 3,
        days: int = 180,
        now: datetime | None = None,
        hostile_names: bool = False,
        size_scale: float = 1.0,
        live_runs: int = 3,
    ):
        if not 1 <= products <= len(PRODUCT_SPECS):
            raise ValueError(f"products must be between 1 and {len(PRODUCT_SPECS)}")
        self.seed = seed
        self.hostile_names = hostile_names
        self.size_scale = size_scale
        self.lock = threading.RLock()
        self._now = (now or DEFAULT_NOW).timestamp()
        self._start = self._now - days * 86400
        self._span = days * 86400
        self._factory = RunFactory(seed, self._start, self._span, hostile_names, size_scale)
        self.initial_runs = runs
        self.products: list[SimProduct] = []
        self.workflows: dict[str, SimWorkflow] = {}
        self.runs: dict[str, SimRun] = {}
        self.actions: dict[str, SimAction] = {}
        self.artifacts: dict[str, SimArtifact] = {}
        self.refs: dict[str, SimGitRef] = {}
        self.repositories: dict[str, SimRepository] = {}
        self.pull_requests: dict[str, SimPullRequest] = {}
        self.issues: dict[str, SimIssue] = {}  # filled as actions' issues are first asked for
        self.test_results: dict[str, SimTestResult] = {}  # likewise
        self._build_products(products)
        self._history_interval = (self._span - 3600) / max(1, runs)
        self._future_interval = min(self._history_interval, 3600.0)
        self._next_index = 0
        live = min(live_runs, runs)
        created = [self._historic_created(i) for i in range(runs - live)]
        # The newest runs: two running, one still queued (minutes before ``now``).
        self._add_runs(created)
        self._add_runs([self._now - 60 * m for m in (50, 20, 3)[3 - live :]] if live else [], True)

    # --- time -------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now, UTC)

    @property
    def now_ts(self) -> float:
        return self._now

    def advance(self, hours: float = 0, minutes: float = 0, days: float = 0) -> list[SimRun]:
        """Move the clock forward: pending runs progress and new runs appear. Returns those."""
        seconds = timedelta(days=days, hours=hours, minutes=minutes).total_seconds()
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        with self.lock:
            start_count = self._next_index
            target = self._now + seconds
            created = []
            last = max((p.run_created[-1] for p in self.products if p.run_created), default=0)
            # Runs keep their spacing across small steps (a live clock moves seconds at a
            # time): the next comes an interval after the last, never before the old `now`.
            moment = max(last, self._now - self._future_interval)
            while moment + self._future_interval <= target:
                moment += self._future_interval
                created.append(moment)
            self._add_runs(created)
            self._now = target
            return [run for run in self.runs.values() if run.index >= start_count]

    # --- queries (all hide what has not been created yet) -----------------------------

    def visible_runs(
        self, product: SimProduct, workflow: SimWorkflow | None = None
    ) -> list[SimRun]:
        with self.lock:
            count = bisect.bisect_right(product.run_created, self._now)
            runs = product.runs[:count]
        if workflow is not None:
            runs = [run for run in runs if run.workflow is workflow]
        return runs

    def is_visible(self, run: SimRun) -> bool:
        return run.created <= self._now

    def visible_artifacts(self, action: SimAction) -> list[SimArtifact]:
        if action.progress(self._now) != "COMPLETE":
            return []
        return action.artifacts

    def all_visible_artifacts(self) -> list[SimArtifact]:
        """Every artifact the API currently lists (for tests to compare against)."""
        return [
            artifact
            for product in self.products
            for run in self.visible_runs(product)
            for action in run.actions
            for artifact in self.visible_artifacts(action)
        ]

    def product(self, product_id: str) -> SimProduct | None:
        return next((p for p in self.products if p.id == product_id), None)

    def issues_of(self, action: SimAction) -> list[SimIssue]:
        """One issue per count in the action's issueCounts, once it is complete."""
        return self._details(action, details.issues, self.issues)

    def test_results_of(self, action: SimAction) -> list[SimTestResult]:
        """A TEST action's results, as many failing as its testFailures count."""
        return self._details(action, details.test_results, self.test_results)

    def _details(self, action: SimAction, derive, index: dict) -> list:
        """What ``derive`` reports for a complete action, remembered by id for lookups."""
        if action.progress(self._now) != "COMPLETE":
            return []
        found = derive(action)
        with self.lock:
            index.update((item.id, item) for item in found)
        return found

    # --- generation -------------------------------------------------------------------

    def _rng(self, *parts: object) -> random.Random:
        return seeded(self.seed, *parts)

    def _build_products(self, count: int) -> None:
        rng = self._rng("products")
        for index, (name, product_type, archive_base, kinds) in enumerate(PRODUCT_SPECS[:count]):
            if self.hostile_names and index == 0:
                name = HOSTILE_NAMES[0]
            product = SimProduct(
                id=random_uuid(rng),
                index=index,
                name=name,
                product_type=product_type,
                created=self._start - rng.uniform(5, 60) * 86400,
                archive_base=archive_base,
                repository=self._repository(index),
            )
            for ref_name in BRANCHES:
                product.refs[ref_name] = SimGitRef(random_uuid(rng), ref_name, "BRANCH")
            for ref_name in TAGS:
                product.refs[ref_name] = SimGitRef(random_uuid(rng), ref_name, "TAG")
            self.refs.update({ref.id: ref for ref in product.refs.values()})
            self._add_app_and_pull_requests(product)
            for position, kind in enumerate(kinds):
                wf_name, description, actions = WORKFLOW_SPECS[kind]
                if self.hostile_names and index == 0:
                    wf_name = HOSTILE_NAMES[position % len(HOSTILE_NAMES)]
                workflow = SimWorkflow(
                    id=random_uuid(rng),
                    product=product,
                    kind=kind,
                    name=wf_name,
                    description=description,
                    last_modified=self._start + rng.uniform(0, self._span / 2),
                    is_enabled=not (kind == "pr" and index == 3),
                    action_specs=list(actions),
                )
                product.workflows.append(workflow)
                self.workflows[workflow.id] = workflow
            self.products.append(product)

    def _repository(self, index: int) -> SimRepository:
        # Streams of their own, so the ids of everything else stay as they were.
        rng = self._rng("repository", index)
        repository = SimRepository(
            id=random_uuid(rng),
            owner="example",
            name=PRODUCT_SPECS[index][0].lower().replace(" ", "-"),
            last_accessed=self._now - rng.uniform(60, 3600),
        )
        self.repositories[repository.id] = repository
        return repository

    def _add_app_and_pull_requests(self, product: SimProduct) -> None:
        rng = self._rng("app", product.index)
        if product.product_type == "APP":
            slug = product.repository.name.replace("-", "")
            product.app = SimApp(
                id=str(rng.randrange(10**9, 10**10)),
                name=product.name,
                sku=slug.upper(),
                bundle_record_id=f"{rng.getrandbits(40):010X}",
                bundle_identifier=f"com.example.{slug}",
                seed_id=f"{rng.getrandbits(40):010X}",
            )
        for number, branch in enumerate(PULL_REQUEST_BRANCHES, start=100 + 10 * product.index):
            pull_request = SimPullRequest(
                id=random_uuid(rng),
                number=number,
                title=PULL_REQUEST_TITLES[branch],
                source=product.refs[branch],
                destination=product.refs["main"],
                repository=product.repository,
            )
            product.pull_requests[branch] = pull_request
            self.pull_requests[pull_request.id] = pull_request

    def _historic_created(self, index: int) -> float:
        rng = self._rng("created", index)
        return self._start + (index + rng.uniform(0, 0.8)) * self._history_interval

    def _add_runs(self, created_times: list[float], live: bool = False) -> None:
        for created in sorted(created_times):
            run = self._factory.make_run(self.products, self._next_index, created, self._now, live)
            self._next_index += 1
            product = run.product
            product.runs.append(run)
            product.run_created.append(run.created)
            self.runs[run.id] = run
            for action in run.actions:
                self.actions[action.id] = action
                for artifact in action.artifacts:
                    self.artifacts[artifact.id] = artifact

    def stage(self, moment: float) -> float:
        """Where `moment` falls in the simulated history: 0 at its start, 1 at the first `now`."""
        return self._factory.stage(moment)
