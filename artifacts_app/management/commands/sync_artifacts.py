"""`manage.py sync_artifacts`: one sync pass, or passes in a loop (thin wiring over sync.py)."""

import signal
import threading
import time
from contextlib import contextmanager, suppress
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from artifacts_app.budgets.watch import check_and_alert
from artifacts_app.contents.inspect import inspect_after_sync
from artifacts_app.models import SyncRun
from artifacts_app.progress import TerminalBar
from artifacts_app.sync import SyncError, sync, sync_queued
from artifacts_app.sync.run import MAX_CONCURRENCY

# How often a loop looks for runs that webhooks queued (and alerts that fell due).
QUEUE_POLL_SECONDS = 1.0


class Command(BaseCommand):
    help = "Sync Xcode Cloud products, workflows, build runs, actions and artifacts."

    def add_arguments(self, parser):
        parser.add_argument(
            "--product",
            action="append",
            default=[],
            metavar="ID",
            help="App Store Connect id of a product to sync (repeatable); default: all.",
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="Re-walk every build run instead of only new and unfinished ones.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Walk the API and count what would change, without writing mirror rows.",
        )
        parser.add_argument(
            "--reserve",
            type=int,
            default=None,
            metavar="CALLS",
            help="Calls of the hourly budget to leave for other tools "
            "(default: SYNC_RESERVE_CALLS).",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            metavar="N",
            help="Build runs fetched at once, 1 to 16 (default: SYNC_CONCURRENCY, 8).",
        )
        parser.add_argument(
            "--loop",
            action="store_true",
            help="Keep syncing, one pass every --interval seconds, until SIGTERM or SIGINT.",
        )
        parser.add_argument(
            "--interval",
            type=int,
            default=900,
            metavar="SECONDS",
            help="Seconds to wait between passes with --loop (default: 900).",
        )

    def handle(self, *args, **options):
        if options["interval"] < 1:
            raise CommandError("--interval must be at least 1 second")
        concurrency = options["concurrency"]
        if concurrency is not None and not 1 <= concurrency <= MAX_CONCURRENCY:
            raise CommandError(f"--concurrency must be from 1 to {MAX_CONCURRENCY}")
        stop = threading.Event()
        try:
            with _stop_on_signals(stop, self._stopping):
                self._run(options, stop)
        except KeyboardInterrupt:
            raise CommandError("sync interrupted; the next pass continues") from None

    def _stopping(self):
        self.stdout.write("stopping after the build run in hand; interrupt again to stop at once")
        self.stdout.flush()

    def _run(self, options, stop):
        if not options["loop"]:
            run = self._one_pass(options, stop)
            self._check_budgets(options)
            if run.status == SyncRun.Status.FAILED:
                raise CommandError(f"sync failed: {run.error}")
            return
        while not stop.is_set():
            # A database restarted between passes must not end the loop: reconnect each time.
            close_old_connections()
            try:
                run = self._one_pass(options, stop)
            except CommandError as exc:
                self.stderr.write(str(exc))
            except DatabaseError as exc:
                self.stderr.write(f"sync failed: database error: {exc}".splitlines()[0])
            else:
                if run.status == SyncRun.Status.FAILED:
                    self.stderr.write(f"sync failed: {run.error}")
                _announce_next_pass(run, options["interval"])
            self._check_budgets(options)
            self._between_passes(options, stop)
        self.stdout.write("sync loop stopped")

    def _between_passes(self, options, stop):
        """Until the next pass, fetch the runs webhooks queue within a second or two, then
        check budgets and send alerts as they fall due."""
        deadline = time.monotonic() + options["interval"]
        while not stop.wait(min(QUEUE_POLL_SECONDS, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                return
            if options["dry_run"]:
                continue
            try:
                fetched = sync_queued(should_stop=stop.is_set)
            except SyncError as exc:
                self.stderr.write(f"webhook sync failed: {exc}")
                continue
            except DatabaseError as exc:
                self.stderr.write(f"webhook sync failed: database error: {exc}".splitlines()[0])
                close_old_connections()
                continue
            if fetched.runs:
                self.stdout.write(
                    f"webhooks: {fetched.runs} build run(s) fetched, {fetched.api_calls} API calls"
                )
            self._check_budgets(options, check_runs=fetched.runs > 0)

    def _check_budgets(self, options, check_runs=True):
        if options["dry_run"]:
            return
        try:
            found = check_and_alert(check_runs)
        except DatabaseError as exc:
            self.stderr.write(f"budget check failed: database error: {exc}".splitlines()[0])
            return
        if found:
            self.stdout.write(f"size budgets: {found} new violation(s)")

    def _one_pass(self, options, stop):
        progress = _Progress(self.stdout)
        try:
            run = sync(
                products=options["product"],
                full=options["full"],
                dry_run=options["dry_run"],
                reserve=options["reserve"],
                should_stop=stop.is_set,
                progress=progress,
                concurrency=options["concurrency"],
            )
        except SyncError as exc:
            progress.done()
            raise CommandError(str(exc)) from None
        progress.done()
        summary = _summary(run)
        if run.status != SyncRun.Status.FAILED:
            inspected = inspect_after_sync(run)
            if inspected is not None:
                summary += f"; contents: {inspected.summary()}"
        self.stdout.write(summary)
        return run


def _announce_next_pass(run, interval):
    """Tell the sync health page when this loop starts its next pass."""
    next_pass = timezone.now() + timedelta(seconds=interval)
    SyncRun.objects.filter(pk=run.pk).update(next_pass_at=next_pass)


@contextmanager
def _stop_on_signals(stop, notify):
    """The first SIGTERM/SIGINT finishes the current run and ends the pass (and says so
    through `notify`); a second one interrupts at once. The previous handlers come back
    afterwards, so a caller such as `run_dashboard` still stops on Ctrl-C once the sync is
    over."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread; elsewhere the caller decides when to stop
        return

    def handler(signum, frame):
        if stop.is_set():
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        stop.set()
        # When the signal interrupted a write to the same stream, the notice is skipped.
        with suppress(RuntimeError):
            notify()

    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    for signum in previous:
        signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


class _Progress:
    """A progress bar on a terminal (runs fetched, calls, elapsed time); a line per product
    and phase otherwise, so a cron log shows where a pass was."""

    def __init__(self, stdout):
        self.stdout = stdout
        self.bar = None  # drawn from the first event on, not before
        self.last = None

    def __call__(self, event):
        where = f"{_clip(event.product)}: {event.phase}"
        calls = f"{event.api_calls} calls"
        if event.rate_limit_remaining is not None:
            calls += f", {event.rate_limit_remaining} calls left this hour"
        if self.bar is None:
            self.bar = TerminalBar(
                self.stdout,
                bar_format="{desc}: {n_fmt} runs fetched{postfix} [{elapsed}]",
                initial=event.runs,
                desc=where,
                postfix=calls,
            )
        if not self.bar.enabled and (event.product, event.phase) != self.last:
            self.stdout.write(where)
        self.last = (event.product, event.phase)
        self.bar.show(event.runs, desc=where, postfix=calls)

    def done(self):
        if self.bar is not None:
            self.bar.close()


def _clip(name, limit=40):
    name = " ".join(str(name).split())
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _summary(run):
    duration = run.duration.total_seconds() if run.duration else 0.0
    remaining = (
        "" if run.rate_limit_remaining is None else (f", {run.rate_limit_remaining} left this hour")
    )
    prefix = "dry run " if run.dry_run else ""
    line = (
        f"{prefix}sync {run.status}: {run.created} created, {run.updated} updated, "
        f"{run.unchanged} unchanged, {run.gone} gone upstream; "
        f"{run.api_calls} API calls{remaining}; {duration:.1f}s"
    )
    if run.status != SyncRun.Status.FAILED and run.error:
        line += f" ({run.error})"
    return line
