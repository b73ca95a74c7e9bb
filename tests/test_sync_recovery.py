"""What a killed pass, a second worker or a faulty day leaves behind: the next pass mends it."""

import pytest

from artifacts_app import locks, stats
from artifacts_app.models import CiArtifact, SyncRun
from artifacts_app.sync import sync
from tests.simulator_fixtures import start_simulator
from tests.sync_helpers import assert_daily_totals_match, fast_client, move_a_run

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
