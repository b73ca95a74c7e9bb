"""Several workers fetching at once keep every guarantee of one: exact copies, the fewest
calls, the reserve, resumable passes."""

import threading

import pytest

from artifacts_app.models import (
    ArtifactDailyTotal,
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
    assert_mirror_matches,
    fast_client,
)

pytestmark = pytest.mark.django_db

FAULT_MIX = {"429": 0.1, "500": 0.05, "503": 0.05, "reset": 0.05, "truncate": 0.03}


def _settled(asc_key, **options):
    options = {"seed": 11, "runs": 80, "live_runs": 0, **options}
    return start_simulator(asc_key, **options)


def _forget_the_mirror():
    for model in (
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


class InFlight:
    """Wraps the simulator's app to record the most requests it served at once."""

    def __init__(self, app):
        self.app = app
        self.now = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return self.app(environ, start_response)
        finally:
            with self.lock:
                self.now -= 1


class WorkerTests:
    def test_four_workers_make_exactly_the_calls_of_one(self, asc_key, asc_tokens):
        calls = {}
        for concurrency in (1, 4):
            server = _settled(asc_key)
            try:
                run = sync(
                    client=fast_client(server, asc_tokens), reserve=0, concurrency=concurrency
                )
                assert run.status == SyncRun.Status.SUCCEEDED
                assert_mirror_matches(server.dataset)
                calls[concurrency] = (run.api_calls, dict(server.stats.by_kind))
            finally:
                server.stop()
            _forget_the_mirror()

        assert calls[4] == calls[1]

    def test_workers_fetch_at_once_but_never_more_than_asked(self, asc_key, asc_tokens):
        server = _settled(asc_key)
        in_flight = InFlight(server.httpd.get_app())
        server.httpd.set_app(in_flight)
        server.faults.latency = 0.01  # long enough for requests to overlap
        try:
            run = sync(client=fast_client(server, asc_tokens), reserve=0, concurrency=3)
            assert run.status == SyncRun.Status.SUCCEEDED
            assert_mirror_matches(server.dataset)
        finally:
            server.stop()

        assert in_flight.most == 3

    def test_four_workers_under_the_fault_mix_leave_an_exact_copy(self, asc_key, asc_tokens):
        server = start_simulator(asc_key, seed=5, runs=60, rates=dict(FAULT_MIX))
        try:
            client = fast_client(server, asc_tokens)
            statuses = []
            for _ in range(20):
                statuses.append(sync(client=client, reserve=0, concurrency=4).status)
                if statuses[-1] == SyncRun.Status.SUCCEEDED:
                    break
            assert server.stats.faults["429"] > 0 and server.stats.faults["reset"] > 0
            server.faults.clear()
            final = sync(client=client, reserve=0, concurrency=4)

            assert statuses[-1] == SyncRun.Status.SUCCEEDED
            assert (final.created, final.updated) == (0, 0)
            assert_mirror_matches(server.dataset)
            assert_daily_totals_match(CiArtifact.objects.filter(gone_upstream_at__isnull=True))
        finally:
            server.stop()

    def test_workers_stop_above_the_reserve_and_the_next_pass_continues(self, asc_key, asc_tokens):
        server = _settled(asc_key, budget=200)
        try:
            client = fast_client(server, asc_tokens)
            first = sync(client=client, reserve=60, concurrency=4)

            assert first.status == SyncRun.Status.PARTIAL
            assert "reserve of 60 calls" in first.error
            assert server.app.budget_remaining >= 60  # not one call into the reserve
            assert server.stats.api_requests <= 140

            passes = [first]
            while passes[-1].status != SyncRun.Status.SUCCEEDED and len(passes) < 20:
                server.reset_budget()
                passes.append(sync(client=client, reserve=60, concurrency=4))
            assert passes[-1].status == SyncRun.Status.SUCCEEDED
            assert_mirror_matches(server.dataset)
            dataset = server.dataset
            runs = sum(len(dataset.visible_runs(p)) for p in dataset.products)
            # Near the reserve runs are fetched one by one: at most one cut short per pass.
            assert server.stats.by_kind["ciBuildRuns/actions"] <= runs + len(passes)
        finally:
            server.stop()
