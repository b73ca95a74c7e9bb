"""What a killed pass, a second worker or a faulty day leaves behind: the next pass mends it."""

from contextlib import suppress

import pytest
import requests

from artifacts_app import locks, stats
from artifacts_app.asc import AscError
from artifacts_app.models import (
    ArtifactDailyTotal,
    ArtifactDailyTypeTotal,
    ArtifactRollupState,
    CiArtifact,
    CiBuildAction,
    CiBuildRun,
    CiProduct,
    CiWorkflow,
    ProductSyncState,
    RollupRecount,
    SyncLock,
    SyncRun,
)
from artifacts_app.sync import sync
from tests.simulator_fixtures import start_simulator
from tests.sync_helpers import (
    assert_daily_totals_match,
    fast_client,
    move_a_run,
    stored_artifacts,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def settled(asc_key):
    """An account whose runs have all finished: nothing changes until the clock moves."""
    server = start_simulator(asc_key, seed=11, runs=80, live_runs=0)
    yield server
    server.stop()


class Killed(BaseException):
    """The process dying at that very point."""


class KilledPassTests:
    def test_the_next_ordinary_pass_recounts_the_days_a_killed_pass_changed(
        self, settled, asc_tokens, monkeypatch
    ):
        client = fast_client(settled, asc_tokens)
        sync(client=client, reserve=0)
        product, _moved, _other = move_a_run(settled.dataset)
        recount = stats.refresh_rollup

        def killed_before_recounting_changed_days(rebuild=False, days=()):
            if days:
                raise Killed
            return recount(rebuild=rebuild, days=days)

        monkeypatch.setattr(stats, "refresh_rollup", killed_before_recounting_changed_days)
        with pytest.raises(Killed):
            sync(client=client, reserve=0)
        monkeypatch.undo()

        after = sync(client=client, reserve=0)

        assert after.status == SyncRun.Status.SUCCEEDED and not after.full
        for workflow in product.workflows:
            assert_daily_totals_match(
                CiArtifact.objects.filter(workflow__asc_id=workflow.id),
                workflow__asc_id=workflow.id,
            )


class FullPassWorkerTests:
    def test_a_product_walked_in_full_by_another_worker_meanwhile_is_not_walked_again(
        self, settled, asc_tokens, monkeypatch
    ):
        monkeypatch.setattr(locks, "per_product_locks", lambda: True)  # PostgreSQL's leases
        client = fast_client(settled, asc_tokens)
        sync(client=client, reserve=0)
        settled.stats.reset()
        last = max(settled.dataset.products, key=lambda product: product.name)
        other_worker = []

        def other_worker_walks_the_last_product(event):
            if not other_worker:
                other = fast_client(settled, asc_tokens)
                other_worker.append(sync(client=other, full=True, products=[last.id], reserve=0))

        run = sync(
            client=client, full=True, reserve=0, progress=other_worker_walks_the_last_product
        )

        assert run.status == SyncRun.Status.SUCCEEDED
        assert other_worker[0].status == SyncRun.Status.SUCCEEDED
        dataset = settled.dataset
        runs = sum(len(dataset.visible_runs(product)) for product in dataset.products)
        assert settled.stats.by_kind["ciBuildRuns/actions"] == runs


FAULT_MIX = {"429": 0.1, "500": 0.05, "503": 0.05, "reset": 0.05, "truncate": 0.03}


class RequestLog(requests.Session):
    """What the sync saw: each request's path and query, and its status or failure."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def get(self, url, **kwargs):
        request = (url.split("/v1/", 1)[-1], kwargs.get("params"))  # the port changes
        try:
            response = super().get(url, **kwargs)
        except requests.RequestException as exc:
            self.seen.append((*request, type(exc).__name__))
            raise
        self.seen.append((*request, response.status_code))
        return response


def _forget_the_mirror():
    for model in (
        ArtifactDailyTypeTotal,
        ArtifactDailyTotal,
        ArtifactRollupState,
        RollupRecount,
        CiArtifact,
        CiBuildAction,
        CiBuildRun,
        ProductSyncState,
        CiWorkflow,
        CiProduct,
        SyncLock,
        SyncRun,
    ):
        model.objects.all().delete()


def _faulty_first_then_later_sync(asc_key, asc_tokens, other_tool: bool, concurrency: int):
    """A first sync, then one after three hours, under faults from seed 5."""
    server = start_simulator(asc_key, seed=5, runs=60, rates=dict(FAULT_MIX))
    log = RequestLog()
    try:
        client = fast_client(server, asc_tokens, session=log)
        tool = fast_client(server, asc_tokens)
        product_id = server.dataset.products[0].id

        def another_tool_on_the_same_api(_event):
            if other_tool:
                with suppress(AscError):
                    tool.product(product_id)

        def one_pass():
            return sync(
                client=client,
                reserve=0,
                progress=another_tool_on_the_same_api,
                concurrency=concurrency,
            )

        passes = [one_pass()]
        server.dataset.advance(hours=3)
        passes.append(one_pass())
        outcome = (
            [(p.status, p.error, p.api_calls, p.created, p.updated) for p in passes],
            log.seen,
            stored_artifacts(),
        )
    finally:
        server.stop()
    _forget_the_mirror()
    return outcome


class ReproducibleFaultTests:
    def test_a_faulty_sync_under_a_fixed_seed_replays_exactly_whatever_else_calls_the_api(
        self, asc_key, asc_tokens
    ):
        # One worker: the order of the requests is part of what replays.
        alone = _faulty_first_then_later_sync(asc_key, asc_tokens, False, concurrency=1)
        shared = _faulty_first_then_later_sync(asc_key, asc_tokens, True, concurrency=1)

        assert any(isinstance(outcome, str) or outcome >= 429 for *_r, outcome in alone[1])
        assert shared[0] == alone[0]
        assert shared[1] == alone[1]
        assert shared[2] == alone[2]
