"""`manage.py inspect_artifacts`: read what is inside zip artifacts (thin wiring over contents)."""

from django.core.management.base import BaseCommand, CommandError

from artifacts_app.archive.paths import printable
from artifacts_app.contents.inspect import ZIP_TYPES, inspect_artifacts, pending
from artifacts_app.management.scope import add_artifact_scope_options, selection_from_options
from artifacts_app.progress import TerminalBar


class Command(BaseCommand):
    help = (
        "Read the listing of zip artifacts (the archived copy, or only the zip's central "
        "directory through HTTP range requests) and store their sizes per component."
    )

    def add_arguments(self, parser):
        add_artifact_scope_options(
            parser, f"only this file type (repeatable); default: {', '.join(ZIP_TYPES)}"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be inspected and stop"
        )
        parser.add_argument(
            "--reserve",
            type=int,
            default=None,
            metavar="CALLS",
            help="calls of the hourly budget to leave for other tools "
            "(default: SYNC_RESERVE_CALLS)",
        )

    def handle(self, *args, **options):
        selection = selection_from_options(options)
        if options["dry_run"]:
            count = pending(selection).count()
            self.stdout.write(f"dry run: {count} artifacts would be inspected")
            return
        bar = _Bar(self.stdout)
        report = inspect_artifacts(selection, reserve=options["reserve"], progress=bar)
        bar.close()
        for line in report.problems:
            self.stderr.write(printable(line, 300))
        self.stdout.write(report.summary())
        if report.stopped and not report.budget_reached:
            raise CommandError(f"inspection stopped: {printable(report.stopped, 300)}")


class _Bar:
    """The shared terminal progress bar, sized once the number of artifacts is known."""

    def __init__(self, stdout):
        self.stdout = stdout
        self.bar = None

    def __call__(self, done, total):
        if self.bar is None:
            self.bar = TerminalBar(self.stdout, total=total, unit="artifact", desc="inspecting")
        self.bar.show(done)

    def close(self):
        if self.bar is not None:
            self.bar.close()
