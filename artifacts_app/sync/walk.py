"""One pass over the API: products -> workflows -> build runs -> actions -> artifacts.

A pass first walks each product's runs from the newest down to the newest run a previous pass
stored as a whole, then re-polls runs that were still PENDING or RUNNING, then (budget
permitting) continues the backfill of older runs from the stored `links.next`. Recent data of
every product comes before the history of any. A run stored as COMPLETE is never fetched again
(unless `full`); an action stored as COMPLETE keeps its artifacts, so a re-polled run costs one
call plus one per new action. What the walk fetches goes to its writer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .. import locks
from ..asc import resources
from ..asc.client import AscClient
from ..asc.errors import NotFoundError, ParameterError
from ..models import CiBuildAction, CiBuildRun, CiProduct, CiWorkflow, ExecutionProgress
from . import columns
from .errors import SyncError, SyncStopped
from .upsert import storable_id
from .writer import DryRunWriter, FetchedRun

logger = logging.getLogger(__name__)

COMPLETE = ExecutionProgress.COMPLETE


@dataclass
class ProgressEvent:
    """What the pass is doing, for progress bars and log lines."""

    product: str
    phase: str  # "recent", "re-poll", "backfill"
    runs: int  # runs fully fetched so far in this pass
    api_calls: int
    rate_limit_remaining: int | None


class SyncPass:
    def __init__(
        self,
        client: AscClient,
        writer: DryRunWriter,
        full: bool = False,
        reserve: int = 0,
        should_stop: Callable[[], bool] | None = None,
        progress: Callable[[ProgressEvent], None] | None = None,
    ) -> None:
        self.client = client
        self.writer = writer
        self.full = full
        self.reserve = reserve
        self.should_stop = should_stop or (lambda: False)
        self.progress = progress
        self.runs_fetched = 0
        self.skipped_products: list[str] = []
        self.skipped_records: list[str] = []  # listed upstream with an id we cannot store
        self.renew: Callable[[], None] | None = None  # keeps the lease (account or product)
        # The key's products, when the team check (`team.py`) listed them already.
        self.listed_products: list[resources.Product] | None = None

    def run(self, product_ids: list[str]) -> None:
        products = self.products(product_ids)
        # Recent runs of every product first, then the history of each.
        for product in products:
            self._in_product_lease(product, self.recent)
        if self.writer.records_backfill:
            for product in products:
                self._in_product_lease(product, self.backfill)

    # --- budget, stop requests, progress ----------------------------------------------------

    def before_call(self) -> None:
        """Stop before a call that would dip into the reserve kept for other tools."""
        remaining = self.client.rate_limit.remaining if self.client.rate_limit else None
        if remaining is not None and remaining <= self.reserve:
            raise SyncStopped(
                f"the hourly budget reached the reserve of {self.reserve} calls "
                f"({remaining} left); the next pass continues"
            )

    def between_units(self) -> None:
        if self.should_stop():
            raise SyncStopped("stop requested; the next pass continues")

    def guarded(self, iterable: Iterable) -> Iterator:
        """Iterate a paging generator, checking the budget before each page is fetched."""
        iterator = iter(iterable)
        while True:
            self.before_call()
            try:
                item = next(iterator)
            except StopIteration:
                return
            yield item

    def report(self, product: str, phase: str) -> None:
        if self.progress is not None:
            rate_limit = self.client.rate_limit
            remaining = rate_limit.remaining if rate_limit else None
            self.progress(
                ProgressEvent(product, phase, self.runs_fetched, self.client.calls, remaining)
            )

    def _storable(self, records: list, kind: str) -> list:
        """The records whose id can be stored; the others are skipped, and reported, so one
        odd record cannot stop the mirror."""
        kept = []
        for record in records:
            if storable_id(record.id):
                kept.append(record)
                continue
            shown = ascii(record.id)[:80]
            self.skipped_records.append(f"{kind} {shown}")
            logger.warning("skipped a %s whose id cannot be stored: %s", kind, shown)
        return kept

    def _renew(self) -> None:
        if self.renew is not None:
            self.renew()

    def _in_product_lease(self, product: CiProduct, work) -> None:
        account_renew = self.renew
        try:
            with self.writer.product_lease(product.asc_id) as held:
                self.renew = held.renew if held else account_renew
                work(product)
        except locks.LockBusy:
            if product.asc_id not in self.skipped_products:
                self.skipped_products.append(product.asc_id)
            logger.info("product %s: another sync is working on it; skipped", product.asc_id)
        finally:
            self.renew = account_renew

    # --- phases -----------------------------------------------------------------------------

    def products(self, product_ids: list[str]) -> list[CiProduct]:
        """The products asked for (all by default), stored; the rest of them marked gone."""
        if product_ids:
            records = []
            for product_id in product_ids:
                if not storable_id(product_id):
                    raise SyncError(
                        f"{ascii(product_id)[:80]} is not a product id: check --product"
                    )
                self.before_call()
                try:
                    records.append(self.client.product(product_id))
                except NotFoundError:
                    stored = self.writer.rows(CiProduct).filter(asc_id=product_id).first()
                    if stored is None:
                        raise SyncError(
                            f"product {product_id} does not exist upstream: check the --product id"
                        ) from None
                    self._same_team_or_refuse()
                    self.writer.mark_gone(CiProduct.objects.filter(pk=stored.pk))
        elif self.listed_products is not None:
            records, self.listed_products = self.listed_products, None
        else:
            records = list(self.guarded(self.client.products()))
        records = self._storable(records, "product")
        pks = self.writer.upsert_products({p.id: columns.product_columns(p) for p in records})
        if not product_ids:
            self.writer.mark_gone(
                self.writer.rows(CiProduct).exclude(asc_id__in=[p.id for p in records])
            )
        return self.writer.product_rows(records, pks)

    def _same_team_or_refuse(self) -> None:
        """A stored product answered 404: gone, unless the key sees none of the account's."""
        from .team import check_team

        check_team(self, [])
        self.listed_products = None

    def recent(self, product: CiProduct) -> None:
        """Workflows, the runs newer than the stored ones, and re-polls of unfinished runs."""
        writer = self.writer
        self.between_units()
        sync_state = writer.sync_state(product)
        walked = sync_state.last_full_sync_at
        if self.full and walked is not None and walked >= writer.now:
            # Another worker walked all of it after this pass began: not twice.
            logger.info("product %s: walked in full by another sync meanwhile", product.asc_id)
            return
        workflows = self._storable(
            list(self.guarded(self.client.workflows(product.asc_id))), "workflow"
        )
        workflow_pks = writer.upsert(
            CiWorkflow, {w.id: columns.workflow_columns(w, product.pk) for w in workflows}
        )
        writer.mark_gone(
            CiWorkflow.objects.filter(product_id=product.pk).exclude(
                asc_id__in=[w.id for w in workflows]
            )
        )
        newest = None if self.full else sync_state.newest_synced_number
        seen: set[str] = set()
        top_number = None
        reached = False
        self.report(product.name, "recent")
        for page in self.guarded(self.client.build_run_pages(product.asc_id)):
            if page.items and top_number is None:
                top_number = page.items[0].number
            for run in page.items:
                seen.add(run.id)
                if newest is not None and run.number <= newest:
                    reached = True
            self._sync_page(product, page.items, workflow_pks)
            self.report(product.name, "recent")
            if newest is None and not self.full:
                # A product's first walk is its backfill: record it page by page, and leave
                # the pages after the newest for the backfill phase, after every product's
                # recent runs.
                writer.advance_backfill(sync_state, page, top_number)
                if page.next_url and writer.records_backfill:
                    break
            if reached:
                break
        else:
            # The whole list was walked: everything not seen has vanished upstream.
            reached = True
            self._mark_runs_gone(product, seen)
            writer.note_whole_list(sync_state, full=self.full)
        if top_number is not None and reached:
            writer.note_newest(sync_state, top_number)
        self.repoll(product, seen, workflow_pks)

    def repoll(self, product: CiProduct, seen: set[str], workflow_pks: dict) -> None:
        """Runs stored as PENDING or RUNNING that the walk did not pass: one call each."""
        unfinished = (
            CiBuildRun.objects.filter(product_id=product.pk, gone_upstream_at__isnull=True)
            .exclude(execution_progress=COMPLETE)
            .order_by("-number")
        )
        self.report(product.name, "re-poll")
        for row in [row for row in unfinished if row.asc_id not in seen]:
            self.between_units()
            try:
                run = self._fetch_run(row.asc_id)
            except NotFoundError:
                continue
            self._sync_run(product, run, self._workflow_pk(run, workflow_pks), row)

    def backfill(self, product: CiProduct) -> None:
        """Older runs, from where the last pass stopped, one page at a time."""
        writer = self.writer
        sync_state = writer.sync_state(product)
        if sync_state.backfill_complete or sync_state.newest_synced_number is None:
            return
        workflow_pks = dict(
            CiWorkflow.objects.filter(product_id=product.pk).values_list("asc_id", "pk")
        )
        start_url = sync_state.backfill_next_url or None
        if start_url and not self.client.is_own_link(start_url):
            # Stored before links were checked on arrival: never send the token there.
            logger.warning(
                "product %s: stored backfill cursor is off the API; restarting", product.asc_id
            )
            writer.save_state(sync_state, backfill_next_url="")
            start_url = None
        self.report(product.name, "backfill")
        try:
            pages = self.client.build_run_pages(product.asc_id, start_url=start_url)
            for page in self.guarded(pages):
                self._sync_page(product, page.items, workflow_pks)
                writer.advance_backfill(sync_state, page, None)
                self.report(product.name, "backfill")
        except (NotFoundError, ParameterError):
            if start_url is None:
                raise
            # The stored cursor is no longer accepted: walk again from the newest run. Stored
            # complete runs cost nothing but their page, so this only spends page calls.
            logger.info("product %s: stored backfill cursor refused; restarting", product.asc_id)
            writer.save_state(sync_state, backfill_next_url="")
            self.backfill(product)

    def one_run(self, run_id: str) -> None:
        """One build run by id: a run a webhook announced.

        A run still pending or running costs one call (its own fields: artifacts come only
        with completion); a completed one also its actions and one call per action completed
        since stored; one stored as complete costs nothing. A product or workflow not stored
        yet costs one call more. A run the API does not know raises NotFoundError, after
        marking a stored one gone; another worker holding the product's lease, LockBusy."""
        row = self.writer.rows(CiBuildRun).filter(asc_id=run_id).first()
        if row is not None and row.execution_progress == COMPLETE and not row.gone_upstream_at:
            return  # nothing about it can change any more
        run = self._fetch_run(run_id)
        product = self.writer.rows(CiProduct).filter(asc_id=run.product_id).first()
        if product is None:
            found = self.products([run.product_id])
            if not found:
                return  # another account mirrors its product: left alone, noted as foreign
            [product] = found
        with self.writer.product_lease(product.asc_id):
            workflow_pks: dict = {}
            if run.workflow_id and self._workflow_pk(run, workflow_pks) is None:
                workflows = list(self.guarded(self.client.workflows(product.asc_id)))
                workflow_pks = self.writer.upsert(
                    CiWorkflow, {w.id: columns.workflow_columns(w, product.pk) for w in workflows}
                )
            workflow_pk = workflow_pks.get(run.workflow_id)
            if run.is_finished:
                self._sync_run(product, run, workflow_pk, row)
            elif row is None:
                self.writer.store_run(FetchedRun(product, run, workflow_pk, [], {}, None))
            else:
                self.writer.refresh_run(product, run, row, workflow_pk)

    # --- pages and runs ---------------------------------------------------------------------

    def _fetch_run(self, run_id: str) -> resources.BuildRun:
        """The run from the API; one it no longer knows is marked gone (and NotFoundError)."""
        self.before_call()
        try:
            return self.client.build_run(run_id)
        except NotFoundError:
            self.writer.mark_run_tree_gone(self.writer.rows(CiBuildRun).filter(asc_id=run_id))
            raise

    def _sync_page(self, product, runs: list[resources.BuildRun], workflow_pks: dict) -> None:
        """Sync one page of runs: fetch what is new or unfinished, refresh the rest for free."""
        runs = self._storable(runs, "build run")
        stored = {
            row.asc_id: row
            for row in self.writer.rows(CiBuildRun).filter(asc_id__in=[r.id for r in runs])
        }
        for run in runs:
            row = stored.get(run.id)
            workflow_pk = self._workflow_pk(run, workflow_pks)
            if (
                not self.full
                and row is not None
                and row.execution_progress == COMPLETE
                and row.gone_upstream_at is None
            ):
                self.writer.refresh_run(product, run, row, workflow_pk)
                continue
            self.between_units()
            self._sync_run(product, run, workflow_pk, row)
        self._renew()  # a walk over stored runs can take a while too

    def _workflow_pk(self, run: resources.BuildRun, workflow_pks: dict) -> int | None:
        """The run's workflow; one deleted from the list but still referenced is kept as a row."""
        if not run.workflow_id or not storable_id(run.workflow_id):
            return None
        if run.workflow_id not in workflow_pks:
            pk = self.writer.stored_workflow_pk(run.workflow_id)
            if pk is not None:
                workflow_pks[run.workflow_id] = pk
        return workflow_pks.get(run.workflow_id)

    def _sync_run(self, product, run: resources.BuildRun, workflow_pk, row) -> None:
        """Fetch a run's actions and their artifacts, then hand them to the writer.

        `row` is the run's stored row, or None; a new run skips the queries that only
        matter for rows stored before (gone marks, denormalised fields)."""
        client = self.client
        stored_complete_actions: set[str] = set()
        if row is not None and not self.full:
            stored_complete_actions = set(
                CiBuildAction.objects.filter(
                    build_run_id=row.pk, execution_progress=COMPLETE, gone_upstream_at=None
                ).values_list("asc_id", flat=True)
            )
        try:
            actions = self._storable(list(self.guarded(client.actions(run.id))), "build action")
            artifacts: dict[str, list[resources.Artifact]] = {}
            for action in actions:
                if action.execution_progress != COMPLETE:
                    continue  # artifacts appear once an action completes; re-polled until then
                if action.id in stored_complete_actions:
                    continue  # stored with its artifacts already
                listed = list(self.guarded(client.artifacts(action.id)))
                artifacts[action.id] = self._storable(listed, "artifact")
        except NotFoundError:
            # The run (or an action) vanished between the list and now.
            self.writer.mark_run_tree_gone(self.writer.rows(CiBuildRun).filter(asc_id=run.id))
            return
        self.runs_fetched += 1
        self.writer.store_run(FetchedRun(product, run, workflow_pk, actions, artifacts, row))
        self._renew()

    def _mark_runs_gone(self, product: CiProduct, seen: set[str]) -> None:
        """After a walk of the whole list: stored runs it did not see have vanished upstream."""
        stored = CiBuildRun.objects.filter(product_id=product.pk, gone_upstream_at__isnull=True)
        missing = [
            asc_id for asc_id in stored.values_list("asc_id", flat=True) if asc_id not in seen
        ]
        for start in range(0, len(missing), 500):
            self.writer.mark_run_tree_gone(
                self.writer.rows(CiBuildRun).filter(asc_id__in=missing[start : start + 500])
            )
