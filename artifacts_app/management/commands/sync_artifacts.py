"""`manage.py sync_artifacts`: one sync pass, or passes in a loop (thin wiring over sync.py)."""

import signal
import threading
import time
from contextlib import contextmanager, suppress
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from artifacts_app.accounts.choose import UnknownAccount, accounts_named
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
            "--account",
            action="append",
            default=[],
            metavar="NAME",
            help="App Store Connect account to sync (repeatable); default: every account "
            "with a key. Each has its own key, budget, leases and sync history.",
        )
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
        try:
            self.accounts = accounts_named(options["account"])
        except UnknownAccount as exc:
            raise CommandError(str(exc)) from None
        if options["product"] and len(self.accounts) > 1:
            raise CommandError(
                "--product: say which account it belongs to with --account NAME "
                f"(several accounts have keys: {', '.join(a.name for a in self.accounts)})"
            )
        # With several accounts every line names its account; with one, nothing changes.
        self.named = len(self.accounts) > 1
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
            failed = self._pass_of_every_account(options, stop)
            self._check_budgets(options)
            if not failed:
                return
            if not self.named:
                raise CommandError(failed[0])
            for line in failed[:-1]:
                self.stderr.write(line)
            if len(failed) > 1:
                raise CommandError(
                    f"{failed[-1]} ({len(failed)} of {len(self.accounts)} accounts failed)"
                )
            raise CommandError(failed[0])
        while not stop.is_set():
            # A database restarted between passes must not end the loop: reconnect each time.
            close_old_connections()
            for line in self._pass_of_every_account(options, stop):
                self.stderr.write(line)
            self._check_budgets(options)
            self._between_passes(options, stop)
        self.stdout.write("sync loop stopped")

    def _pass_of_every_account(self, options, stop) -> list[str]:
        """One pass per account, each on its own whatever the others do; returns one line per
        account that failed, naming it when there are several."""
        failed = []
        for account in self.accounts:
            if stop.is_set():
                break
            try:
                run = self._one_pass(options, stop, account)
            except CommandError as exc:
                failed.append(self._named(account, str(exc)))
                continue
            except DatabaseError as exc:
                error = f"sync failed: database error: {exc}".splitlines()[0]
                failed.append(self._named(account, error))
                close_old_connections()
                continue
            if run.status == SyncRun.Status.FAILED:
                failed.append(self._named(account, f"sync failed: {run.error}"))
            if options["loop"]:
                _announce_next_pass(run, options["interval"])
        return failed

    def _named(self, account, line):
        return f"account {account.name}: {line}" if self.named else line

    def _between_passes(self, options, stop):
        """Until the next pass, fetch the runs webhooks queue within a second or two, then
        check budgets and send alerts as they fall due."""
        deadline = time.monotonic() + options["interval"]
        while not stop.wait(min(QUEUE_POLL_SECONDS, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                return
            if options["dry_run"]:
                continue
            fetched_runs = 0
            for account in self.accounts:
                fetched_runs += self._queued_runs(account, stop)
            self._check_budgets(options, check_runs=fetched_runs > 0)

    def _queued_runs(self, account, stop) -> int:
        """The runs webhooks queued for the account; a failure is one line, the loop goes on."""
        try:
            fetched = sync_queued(should_stop=stop.is_set, account=account)
        except SyncError as exc:
            self.stderr.write(self._named(account, f"webhook sync failed: {exc}"))
            return 0
        except DatabaseError as exc:
            error = f"webhook sync failed: database error: {exc}".splitlines()[0]
            self.stderr.write(self._named(account, error))
            close_old_connections()
            return 0
        if fetched.runs:
            self.stdout.write(
                self._named(
                    account,
                    f"webhooks: {fetched.runs} build run(s) fetched, {fetched.api_calls} API calls",
                )
            )
        return fetched.runs

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

    def _one_pass(self, options, stop, account):
        progress = _Progress(self.stdout)
        try:
            run = sync(
                account=account,
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
        self.stdout.write(self._named(account, summary))
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
