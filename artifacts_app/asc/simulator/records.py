"""The records of a simulated account: products, workflows, runs, actions, artifacts, refs.

Plain data; ``Dataset`` makes them and documents render them. Progress is derived from the
simulated clock, so a run finishes when the clock moves past it.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field


@dataclass(eq=False)
class SimGitRef:
    id: str
    name: str
    kind: str  # BRANCH or TAG

    @property
    def canonical_name(self) -> str:
        return f"refs/{'heads' if self.kind == 'BRANCH' else 'tags'}/{self.name}"


@dataclass(eq=False)
class SimWorkflow:
    id: str
    product: SimProduct
    kind: str
    name: str
    description: str
    last_modified: float
    is_enabled: bool = True
    action_specs: list[tuple[str, str]] = field(default_factory=list)


@dataclass(eq=False)
class SimRepository:
    id: str
    owner: str
    name: str
    last_accessed: float

    @property
    def http_clone_url(self) -> str:
        return f"https://git.example.com/{self.owner}/{self.name}.git"

    @property
    def ssh_clone_url(self) -> str:
        return f"ssh://git@git.example.com/{self.owner}/{self.name}.git"


@dataclass(eq=False)
class SimApp:
    id: str  # Apple's app ids are numeric strings
    name: str
    sku: str
    bundle_record_id: str  # the bundleIds resource's id
    bundle_identifier: str  # com.example.app
    seed_id: str


@dataclass(eq=False)
class SimPullRequest:
    id: str
    number: int
    title: str
    source: SimGitRef
    destination: SimGitRef
    repository: SimRepository

    @property
    def web_url(self) -> str:
        repository = self.repository
        return f"https://git.example.com/{repository.owner}/{repository.name}/pull/{self.number}"


@dataclass(frozen=True)
class SimToolVersion:
    """An Xcode or macOS version a workflow builds with."""

    id: str
    name: str
    version: str


@dataclass(eq=False)
class SimIssue:
    id: str
    action: SimAction
    issue_type: str  # ANALYZER_WARNING, ERROR, TEST_FAILURE, WARNING
    message: str
    path: str
    line: int


@dataclass(eq=False)
class SimTestResult:
    id: str
    action: SimAction
    class_name: str
    name: str
    status: str  # SUCCESS or FAILURE
    message: str
    duration: float


@dataclass(eq=False)
class SimProduct:
    id: str
    index: int
    name: str
    product_type: str
    created: float
    archive_base: int
    repository: SimRepository
    app: SimApp | None = None  # a framework has none
    pull_requests: dict[str, SimPullRequest] = field(default_factory=dict)  # by source branch
    workflows: list[SimWorkflow] = field(default_factory=list)
    refs: dict[str, SimGitRef] = field(default_factory=dict)
    runs: list[SimRun] = field(default_factory=list)  # ascending number == ascending created
    run_created: list[float] = field(default_factory=list)  # for bisect


@dataclass(eq=False)
class SimArtifact:
    id: str
    action: SimAction
    file_type: str
    file_name: str
    file_size: int


class Progressing:
    """A run or an action: PENDING until it starts, RUNNING until it finishes, then COMPLETE."""

    def started(self) -> float:
        raise NotImplementedError

    def finished(self) -> float:
        raise NotImplementedError

    def progress(self, now: float) -> str:
        if now < self.started():
            return "PENDING"
        if now < self.finished():
            return "RUNNING"
        return "COMPLETE"


@dataclass(eq=False)
class SimAction(Progressing):
    id: str
    run: SimRun
    name: str
    action_type: str
    start_offset: float  # seconds after the run starts
    duration: float
    outcome: str  # completion status once complete
    is_required: bool
    issues: tuple[int, int, int, int]  # analyzerWarnings, errors, testFailures, warnings
    artifacts: list[SimArtifact] = field(default_factory=list)

    def started(self) -> float:
        return self.run.started() + self.start_offset

    def finished(self) -> float:
        return self.started() + self.duration


@dataclass(eq=False)
class SimRun(Progressing):
    id: str
    index: int
    product: SimProduct
    workflow: SimWorkflow
    number: int
    created: float
    queued: float
    outcome: str
    cancel_reason: str | None
    start_reason: str
    is_pull_request: bool
    source_ref: SimGitRef
    destination_ref: SimGitRef | None
    commit_sha: str
    destination_sha: str | None
    message: str
    author: str
    pull_request: SimPullRequest | None = None
    actions: list[SimAction] = field(default_factory=list)

    def started(self) -> float:
        return self.created + self.queued

    def finished(self) -> float:
        return self.started() + max((a.start_offset + a.duration for a in self.actions), default=0)


def random_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng``: the same seed gives the same ids."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
