"""The sync against the simulator over loopback: exact copies, call counts, budgets, faults."""

import pytest

from artifacts_app.asc.simulator import run_in_thread
from artifacts_app.models import (
    Account,
    ArtifactDailyTotal,
    ArtifactRollupState,
    CiArtifact,
    CiBuildAction,
    CiBuildRun,
    CiProduct,
    CiWorkflow,
    ProductSyncState,
    SyncLock,
    SyncRun,
)
from artifacts_app.sync import sync
from tests.factories import (
    make_artifact,
    make_build_action,
    make_build_run,
    make_product,
    make_workflow,
)
from tests.simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID, start_simulator
from tests.sync_helpers import (
    assert_daily_totals_match,
    assert_mirror_matches,
    fast_client,
    move_a_run,
    stored_artifacts,
    upstream_artifacts,
)

pytestmark = pytest.mark.django_db


def _simulator(asc_key, **options):
    options.setdefault("seed", 11)
    options.setdefault("runs", 80)
    options.setdefault("size_scale", 1e-5)
    return run_in_thread(
        public_key=asc_key.public_pem, key_id=SIM_KEY_ID, issuer_id=SIM_ISSUER_ID, **options
    )


@pytest.fixture
def settled(asc_key):
    """An account whose runs have all finished: nothing changes until the clock moves."""
    server = _simulator(asc_key, live_runs=0)
    yield server
    server.stop()


def _mirror_snapshot():
    """Every row the sync may write, but the record of passes."""
    models = [
        CiProduct,
        CiWorkflow,
        CiBuildRun,
        CiBuildAction,
        CiArtifact,
        ProductSyncState,
        ArtifactDailyTotal,
        SyncLock,
    ]
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}


class FirstSyncTests:
    def test_first_sync_copies_every_artifact_with_its_size_type_and_parents(
        self, simulator, asc_tokens
    ):
        run = sync(client=fast_client(simulator, asc_tokens), reserve=0)

        assert run.status == SyncRun.Status.SUCCEEDED
        assert_mirror_matches(simulator.dataset)
        assert run.created > len(upstream_artifacts(simulator.dataset))
        assert run.api_calls == simulator.stats.api_requests

    def test_pull_request_runs_keep_their_pull_request_and_destination(self, settled, asc_tokens):
        sync(client=fast_client(settled, asc_tokens), reserve=0)

        upstream = [run for run in settled.dataset.runs.values() if run.pull_request is not None]
        assert upstream, "the simulated account has pull-request runs"
        stored = {
            run.asc_id: run
            for run in CiBuildRun.objects.filter(asc_id__in=[run.id for run in upstream])
        }
        for run in upstream:
            mine = stored[run.id]
            assert mine.is_pull_request_build
            assert (mine.pull_request_number, mine.pull_request_url) == (
                run.pull_request.number,
                run.pull_request.web_url,
            )
            assert mine.pull_request_title == run.pull_request.title
            assert mine.destination_branch_name == run.destination_ref.name
        assert not CiBuildRun.objects.filter(is_pull_request_build=False).exclude(
            pull_request_number=None
        )

    def test_first_sync_makes_the_fewest_calls_the_api_allows(self, settled, asc_tokens):
        sync(client=fast_client(settled, asc_tokens), reserve=0)

        dataset = settled.dataset
        runs = [run for p in dataset.products for run in dataset.visible_runs(p)]
        actions = sum(len(run.actions) for run in runs)
        pages = sum(-(-len(dataset.visible_runs(p)) // 200) for p in dataset.products)
        minimum = 1 + 2 * len(dataset.products) - len(dataset.products) + pages
        minimum += len(runs) + actions
        assert settled.stats.api_requests == minimum

    def test_dry_run_counts_changes_without_writing_mirror_rows(self, simulator, asc_tokens):
        run = sync(client=fast_client(simulator, asc_tokens), dry_run=True, reserve=0)

        assert run.dry_run and run.status == SyncRun.Status.SUCCEEDED
        assert run.created > 0
        assert not CiBuildRun.objects.exists()
        assert not CiArtifact.objects.exists()


class IncrementalSyncTests:
    def test_second_sync_without_changes_costs_a_call_per_product_and_workflow_page(
        self, settled, asc_tokens
    ):
        client = fast_client(settled, asc_tokens)
        sync(client=client, reserve=0)
        before = settled.stats.api_requests

        second = sync(client=client, reserve=0)

        products = len(settled.dataset.products)
        workflow_pages = products  # fewer than 200 workflows each
        assert settled.stats.api_requests - before <= products + workflow_pages + 1
        assert (second.created, second.updated, second.gone) == (0, 0, 0)
        assert second.unchanged > 0

    def test_after_the_clock_moves_only_new_and_unfinished_runs_are_fetched(
        self, simulator, asc_tokens
    ):
        client = fast_client(simulator, asc_tokens)
        dataset = simulator.dataset
        sync(client=client, reserve=0)
        unfinished = set(
            CiBuildRun.objects.exclude(execution_progress="COMPLETE").values_list(
                "asc_id", flat=True
            )
        )
        assert unfinished  # the newest runs were still running at the first sync
        simulator.stats.reset()

        new_runs = dataset.advance(hours=3)
        sync(client=client, reserve=0)

        fetched = simulator.stats.by_kind["ciBuildRuns/actions"]
        assert new_runs
        assert fetched == len(new_runs) + len(unfinished)
        assert_mirror_matches(dataset)

    def test_runs_finished_since_the_last_sync_get_their_artifacts(self, simulator, asc_tokens):
        client = fast_client(simulator, asc_tokens)
        sync(client=client, reserve=0)
        running = CiBuildRun.objects.exclude(execution_progress="COMPLETE").first()
        assert not CiArtifact.objects.filter(build_run=running).exists()

        simulator.dataset.advance(hours=2)
        sync(client=client, reserve=0)

        running.refresh_from_db()
        assert running.execution_progress == "COMPLETE"
        assert CiArtifact.objects.filter(build_run=running).exists()

    def test_full_sync_re_walks_every_run(self, settled, asc_tokens):
        client = fast_client(settled, asc_tokens)
        sync(client=client, reserve=0)
        first_cost = settled.stats.api_requests
        settled.stats.reset()

        run = sync(client=client, full=True, reserve=0)

        assert settled.stats.api_requests == first_cost
        assert run.created == 0 and run.updated == 0
        assert ProductSyncState.objects.exclude(last_full_sync_at=None).count() == len(
            settled.dataset.products
        )

    def test_full_sync_mends_daily_totals_a_killed_pass_left_wrong(self, settled, asc_tokens):
        client = fast_client(settled, asc_tokens)
        sync(client=client, reserve=0)
        # What a pass killed after moving artifacts but before recounting their days leaves:
        ArtifactDailyTotal.objects.filter(pk=ArtifactDailyTotal.objects.first().pk).delete()

        sync(client=client, full=True, reserve=0)

        assert_daily_totals_match(CiArtifact.objects.all())


def _vanish_a_run(dataset):
    """Delete a run of the first product upstream, as Apple does when it drops history."""
    product = dataset.products[0]
    vanished = product.runs[len(product.runs) // 2]
    with dataset.lock:
        index = product.runs.index(vanished)
        del product.runs[index]
        del product.run_created[index]
    return vanished


class UpstreamChangeTests:
    def test_a_run_that_vanishes_upstream_is_kept_and_marked_gone(self, settled, asc_tokens):
        client = fast_client(settled, asc_tokens)
        sync(client=client, reserve=0)
        dataset = settled.dataset
        vanished = _vanish_a_run(dataset)

        run = sync(client=client, full=True, reserve=0)

        row = CiBuildRun.objects.get(asc_id=vanished.id)
        assert row.gone_upstream_at is not None
        assert row.artifacts.exists()
        assert not row.artifacts.filter(gone_upstream_at=None).exists()
        assert not row.actions.filter(gone_upstream_at=None).exists()
        assert run.gone == 1 + len(vanished.actions) + row.artifacts.count()
        assert_mirror_matches(dataset)

    def test_a_dry_run_counts_vanished_runs_as_gone_and_writes_nothing(self, settled, asc_tokens):
        client = fast_client(settled, asc_tokens)
        sync(client=client, reserve=0)
        dataset = settled.dataset
        vanished = _vanish_a_run(dataset)
        dataset.advance(hours=3)
        before = _mirror_snapshot()

        run = sync(client=client, full=True, dry_run=True, reserve=0)

        artifacts = CiArtifact.objects.filter(build_run__asc_id=vanished.id).count()
        assert run.gone == 1 + len(vanished.actions) + artifacts
        assert run.created > 0
        assert _mirror_snapshot() == before

    def test_artifacts_follow_a_run_moved_to_another_workflow(self, settled, asc_tokens):
        client = fast_client(settled, asc_tokens)
        sync(client=client, reserve=0)
        dataset = settled.dataset
        product, moved, other = move_a_run(dataset)

        sync(client=client, reserve=0)

        artifacts = CiArtifact.objects.filter(build_run__asc_id=moved.id)
        assert artifacts.exists()
        assert set(artifacts.values_list("workflow__asc_id", flat=True)) == {other.id}
        assert_mirror_matches(dataset)
        # The dashboard's daily totals moved with them.
        for workflow in product.workflows:
            assert_daily_totals_match(
                CiArtifact.objects.filter(workflow__asc_id=workflow.id),
                workflow__asc_id=workflow.id,
            )

    def test_an_interrupted_pass_still_moves_the_daily_totals_of_what_it_moved(
        self, settled, asc_tokens
    ):
        client = fast_client(settled, asc_tokens)
        sync(client=client, reserve=0)
        dataset = settled.dataset
        product, moved, other = move_a_run(dataset)

        def interrupt_once_moved(event):
            if CiArtifact.objects.filter(
                build_run__asc_id=moved.id, workflow__asc_id=other.id
            ).exists():
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            sync(client=client, reserve=0, progress=interrupt_once_moved)

        for workflow in product.workflows:
            assert_daily_totals_match(
                CiArtifact.objects.filter(workflow__asc_id=workflow.id),
                workflow__asc_id=workflow.id,
            )

    def test_artifacts_created_below_the_rollup_watermark_still_reach_the_daily_totals(
        self, settled, asc_tokens
    ):
        # Another worker on PostgreSQL counted its higher ids while ours were uncommitted.
        ArtifactRollupState.objects.create(pk=1, last_artifact_id=10**9)
        sync(client=fast_client(settled, asc_tokens), reserve=0)
        assert_daily_totals_match(CiArtifact.objects.all())
        assert CiArtifact.objects.exists()

    def test_a_workflow_deleted_upstream_is_kept_and_marked_gone(self, settled, asc_tokens):
        client = fast_client(settled, asc_tokens)
        sync(client=client, reserve=0)
        product = settled.dataset.products[0]
        deleted = product.workflows.pop()

        sync(client=client, reserve=0)

        assert CiWorkflow.objects.get(asc_id=deleted.id).gone_upstream_at is not None


class BudgetTests:
    def test_budget_limited_first_sync_completes_over_passes_without_a_429(
        self, settled, asc_tokens
    ):
        settled.config.budget = 60
        client = fast_client(settled, asc_tokens)
        passes = []
        for _ in range(30):
            passes.append(sync(client=client, reserve=10))
            if passes[-1].status == SyncRun.Status.SUCCEEDED:
                break
            settled.reset_budget()  # the rolling hour moves on between passes

        assert len(passes) > 2
        assert {p.status for p in passes[:-1]} == {SyncRun.Status.PARTIAL}
        assert passes[-1].status == SyncRun.Status.SUCCEEDED
        assert all(p.rate_limit_remaining >= 10 for p in passes)
        assert settled.stats.by_status[429] == 0
        assert_mirror_matches(settled.dataset)

    def test_a_partial_first_sync_stores_the_newest_runs_first(self, settled, asc_tokens):
        settled.config.budget = 40
        sync(client=fast_client(settled, asc_tokens), reserve=0)

        stored_any = False
        for product in settled.dataset.products:
            stored = set(
                CiBuildRun.objects.filter(product__asc_id=product.id).values_list(
                    "number", flat=True
                )
            )
            newest = sorted((r.number for r in product.runs), reverse=True)[: len(stored)]
            assert stored == set(newest)
            stored_any = stored_any or bool(stored)
        assert stored_any

    def test_stop_request_ends_the_pass_as_partial_and_the_next_pass_finishes(
        self, settled, asc_tokens
    ):
        client = fast_client(settled, asc_tokens)
        calls = iter(range(1000))

        stopped = sync(client=client, reserve=0, should_stop=lambda: next(calls) > 10)
        finished = sync(client=client, reserve=0)

        assert stopped.status == SyncRun.Status.PARTIAL
        assert finished.status == SyncRun.Status.SUCCEEDED
        assert_mirror_matches(settled.dataset)


class FaultTests:
    def test_repeated_passes_under_faults_converge_exactly(self, asc_key, asc_tokens):
        server = _simulator(asc_key, runs=60)
        try:
            server.faults.rates = {
                "429": 0.04,
                "500": 0.04,
                "503": 0.04,
                "reset": 0.04,
                "truncate": 0.04,
                "invalid-json": 0.04,
            }
            client = fast_client(server, asc_tokens, max_attempts=2)
            statuses = []
            for _ in range(40):
                statuses.append(sync(client=client, reserve=0).status)
                if statuses[-1] == SyncRun.Status.SUCCEEDED:
                    break
            server.faults.clear()
            final = sync(client=client, reserve=0)

            assert SyncRun.Status.FAILED in statuses  # the faults did break passes
            assert statuses[-1] == SyncRun.Status.SUCCEEDED
            assert (final.created, final.updated) == (0, 0)
            assert_mirror_matches(server.dataset)
            assert len(stored_artifacts()) == CiArtifact.objects.count()
        finally:
            server.stop()


class BackfillTests:
    def test_backfill_across_pages_resumes_where_the_last_pass_stopped(
        self, settled, asc_tokens, monkeypatch
    ):
        monkeypatch.setattr("artifacts_app.asc.client.PAGE_LIMIT", 5)
        settled.config.budget = 30
        client = fast_client(settled, asc_tokens)
        passes = []
        for _ in range(60):
            passes.append(sync(client=client, reserve=0))
            if passes[-1].status == SyncRun.Status.SUCCEEDED:
                break
            settled.reset_budget()

        dataset = settled.dataset
        runs = sum(len(dataset.visible_runs(p)) for p in dataset.products)
        pages = sum(-(-len(dataset.visible_runs(p)) // 5) for p in dataset.products)
        assert passes[-1].status == SyncRun.Status.SUCCEEDED and len(passes) > 5
        # Each run is fetched once, but for one cut short by the budget per pass.
        assert runs <= settled.stats.by_kind["ciBuildRuns/actions"] <= runs + len(passes)
        # Run pages are not walked again: the newest page per product per pass, and the
        # page a pass stopped on, come on top of the pages themselves.
        page_calls = settled.stats.by_kind["ciProducts/buildRuns"]
        assert page_calls <= pages + len(passes) * (len(dataset.products) + 1)
        assert ProductSyncState.objects.filter(backfill_complete=True).count() == len(
            dataset.products
        )
        assert_mirror_matches(dataset)


class HostileNameTests:
    def test_names_with_markup_paths_and_a_nul_are_stored_as_text(self, asc_key, asc_tokens):
        server = start_simulator(asc_key, seed=11, runs=30, hostile_names=True)
        try:
            run = sync(client=fast_client(server, asc_tokens), reserve=0)
            upstream = {a.file_name for a in server.dataset.all_visible_artifacts()}
        finally:
            server.stop()

        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert any("\x00" in name for name in upstream), "the dataset should carry a NUL"
        stored = set(CiArtifact.objects.values_list("file_name", flat=True))
        assert {name.replace("\x00", "\ufffd") for name in upstream} <= stored
        assert "<script>alert(1)</script>.zip" in stored


class WritePathTests:
    def test_an_artifact_another_account_mirrors_is_left_alone_and_the_rest_is_stored(
        self, settled, asc_tokens
    ):
        other = Account.objects.create(name="other team")
        upstream = settled.dataset.all_visible_artifacts()[0]
        theirs = make_artifact(
            make_build_action(make_build_run(make_workflow(make_product(account=other)))),
            asc_id=upstream.id,
            file_size=1,
        )

        run = sync(client=fast_client(settled, asc_tokens), reserve=0)

        assert run.status == SyncRun.Status.SUCCEEDED
        assert "left 1 record(s) alone that another account mirrors" in run.error
        theirs.refresh_from_db()
        assert (theirs.account_id, theirs.file_size) == (other.pk, 1)
        mine = {a for a in upstream_artifacts(settled.dataset) if a[0] != upstream.id}
        assert {a for a in stored_artifacts() if a[0] != upstream.id} == mine
        # The run holding it is stored whole but for that one artifact.
        assert CiBuildAction.objects.filter(asc_id=upstream.action.id).exists()
