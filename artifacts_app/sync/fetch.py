"""Build runs' actions and artifacts, fetched by a few worker threads while the walk writes.

The workers only make API calls: every row is read and written by the walk's own thread, in
the order of the list, so a run is stored only after the runs before it and a killed pass
leaves the same whole runs behind as a pass of one worker. The budget is checked before
every call by the client's shared `CallBudget`; with one worker nothing is fetched ahead.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field

from ..asc import resources
from ..asc.client import AscClient
from ..asc.errors import NotFoundError
from ..models import ExecutionProgress

COMPLETE = ExecutionProgress.COMPLETE
LOW_WATER = 8  # calls per worker above the reserve below which runs are fetched one by one


@dataclass
class RunTree:
    """What the API lists under a run: its actions, and the artifacts of each action that
    completed since it was stored. `gone`: the run or an action vanished meanwhile."""

    actions: list[resources.BuildAction] = field(default_factory=list)
    artifacts: dict[str, list[resources.Artifact]] = field(default_factory=dict)
    gone: bool = False
    run: resources.BuildRun | None = None  # the run itself, when it was fetched by id


@dataclass(frozen=True)
class Job:
    run_id: str
    skip_actions: frozenset[str]  # actions stored as complete: their artifacts are kept
    by_id: bool = False  # also fetch the run itself (a re-poll)


class RunFetcher:
    def __init__(
        self, client: AscClient, workers: int, storable: Callable[[list, str], list]
    ) -> None:
        self.client = client
        self.workers = max(1, workers)
        self._storable = storable  # keeps the records whose id can be stored
        self._closed = threading.Event()
        self._pool: _Workers | None = None
        if self.workers > 1:
            client.pool_size(self.workers)
            self._pool = _Workers(self.workers)

    def in_order(self, jobs: list[Job]) -> Iterator[RunTree]:
        """The trees of `jobs`, in their order. Workers run a few runs ahead; closing the
        iterator early (a stop, the budget's reserve, an error) cancels what has not started.

        Near the reserve the runs are fetched one at a time again, so the pass that reaches
        it leaves at most one run half-fetched, as a single worker would."""
        if self._pool is None:
            for job in jobs:
                yield self.tree(job)
            return
        waiting = iter(jobs)
        ahead: deque[Future] = deque()
        try:
            while True:
                while len(ahead) < 2 * self.workers and self._budget_is_roomy():
                    job = next(waiting, None)
                    if job is None:
                        break
                    ahead.append(self._pool.submit(self.tree, job))
                if ahead:
                    yield ahead.popleft().result()
                    continue
                job = next(waiting, None)
                if job is None:
                    return
                yield self.tree(job)
        finally:
            for future in ahead:
                future.cancel()

    def _budget_is_roomy(self) -> bool:
        budget = self.client.budget
        left = budget.left if budget is not None else None
        return left is None or left - budget.reserve > LOW_WATER * self.workers

    def tree(self, job: Job) -> RunTree:
        client = self.client
        found = RunTree()
        try:
            if job.by_id:
                self._still_open()
                found.run = client.build_run(job.run_id)
            self._still_open()
            found.actions = self._storable(list(client.actions(job.run_id)), "build action")
            for action in found.actions:
                if action.execution_progress != COMPLETE:
                    continue  # artifacts appear once an action completes; re-polled until then
                if action.id in job.skip_actions:
                    continue  # stored with its artifacts already
                self._still_open()
                listed = list(client.artifacts(action.id))
                found.artifacts[action.id] = self._storable(listed, "artifact")
        except NotFoundError:
            return RunTree(gone=True, run=found.run)
        return found

    def _still_open(self) -> None:
        if self._closed.is_set():
            raise Closed("the pass is over")

    def close(self) -> None:
        """End the workers: a job under way stops before its next call. Nothing waits for
        them (a call may hang until its timeout; an interrupted pass must end now)."""
        self._closed.set()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class Closed(Exception):
    """A worker's job outlived its pass."""


class _Workers:
    """Daemon threads taking jobs from a queue: unlike a ThreadPoolExecutor's, a thread
    stuck in a slow call cannot hold the process at exit."""

    def __init__(self, count: int) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._count = count
        for number in range(count):
            threading.Thread(target=self._work, name=f"sync-fetch-{number}", daemon=True).start()

    def submit(self, function: Callable, argument) -> Future:
        future: Future = Future()
        self._jobs.put((future, function, argument))
        return future

    def shutdown(self) -> None:
        for _ in range(self._count):
            self._jobs.put(None)

    def _work(self) -> None:
        while (item := self._jobs.get()) is not None:
            future, function, argument = item
            if not future.set_running_or_notify_cancel():
                continue  # cancelled before it started
            try:
                future.set_result(function(argument))
            except BaseException as exc:  # handed to whoever waits for the result
                future.set_exception(exc)
