"""Download Xcode Cloud artifacts into ARCHIVE_ROOT, verify them, or apply retention."""

from django.core.management.base import BaseCommand, CommandError

from artifacts_app.archive import (
    ArchiveError,
    Progress,
    RetentionPolicy,
    apply_retention,
    archive_artifacts,
    archive_storage,
    plan,
    verify_archive,
)
from artifacts_app.archive.progress import human_bytes
from artifacts_app.archive.retention import (
    DEFAULT_KEEP_LAST,
    DEFAULT_KEEP_REFS,
    DEFAULT_LOG_DAYS,
)
from artifacts_app.archive.selection import unknown_file_types
from artifacts_app.management.arguments import count
from artifacts_app.management.scope import add_artifact_scope_options, selection_from_options


class Command(BaseCommand):
    help = (
        "Archive artifacts into ARCHIVE_ROOT (or the 'archive' storage): fresh download URL, "
        "streamed download, size and SHA-256 checks. --verify re-hashes archived files; "
        "--retention deletes what the retention policy lets go (--dry-run lists it)."
    )

    def add_arguments(self, parser):
        add_artifact_scope_options(
            parser, "only this file type, e.g. ARCHIVE (repeatable)", workflow_and_until=True
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="list what would be downloaded (or deleted) and stop",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=2,
            metavar="N",
            help="downloads at once (default 2, at most 16)",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--verify",
            action="store_true",
            help="re-hash archived files; exit non-zero if any is missing or changed",
        )
        mode.add_argument(
            "--retention",
            action="store_true",
            help="delete archived files the retention policy lets go",
        )
        parser.add_argument(
            "--keep-last",
            type=count,
            default=DEFAULT_KEEP_LAST,
            metavar="N",
            help=f"retention: keep the last N runs per workflow and file type "
            f"(default {DEFAULT_KEEP_LAST})",
        )
        parser.add_argument(
            "--keep-ref",
            action="append",
            metavar="PATTERN",
            help="retention: keep runs on this branch; a trailing * matches a "
            f"prefix (repeatable; default {', '.join(DEFAULT_KEEP_REFS)})",
        )
        parser.add_argument(
            "--no-keep-tags", action="store_true", help="retention: let runs built from tags go too"
        )
        parser.add_argument(
            "--log-days",
            type=count,
            default=DEFAULT_LOG_DAYS,
            metavar="N",
            help=f"retention: delete log bundles older than N days (default {DEFAULT_LOG_DAYS})",
        )

    def handle(self, *args, **options):
        unknown, valid = unknown_file_types(tuple(options["file_type"]))
        if unknown:
            raise CommandError(
                f"--file-type: unknown file type {unknown[0]!r}; use one of {', '.join(valid)}"
            )
        selection = selection_from_options(options)
        if options["verify"]:
            return self.verify(selection)
        if options["retention"]:
            return self.retention(selection, options)
        if options["dry_run"]:
            return self.dry_run(selection)
        return self.archive(selection, options["concurrency"])

    def archive(self, selection, concurrency):
        report = archive_artifacts(
            selection, concurrency=concurrency, progress=Progress(self.stdout)
        )
        if not report.started:  # nothing to do, or stopped before the first download
            if report.fatal:
                raise CommandError(report.fatal)
            self.stdout.write("nothing to archive")
            return
        for line in report.problems:
            self.stderr.write(line)
        self.stdout.write(report.summary())
        if report.fatal:
            raise CommandError(report.fatal)
        if report.failed:
            raise CommandError(
                f"{report.failed} artifacts were not archived; run again to retry them"
            )

    def dry_run(self, selection):
        work = plan(selection)
        for job in work.jobs:
            size = human_bytes(job.file_size) if job.file_size is not None else "size unknown"
            self.stdout.write(f"would archive {job.label}, {size} -> {job.name}")
        self.stdout.write(f"dry run: {work.count} artifacts to archive, {human_bytes(work.bytes)}")

    def verify(self, selection):
        try:
            report = verify_archive(selection, progress=Progress(self.stdout))
        except OSError as exc:
            raise CommandError(f"cannot read the archive: {exc.strerror or exc}") from None
        for line in report.problems:
            self.stderr.write(line)
        self.stdout.write(report.summary())
        if report.missing or report.changed:
            raise CommandError(
                f"{len(report.missing) + len(report.changed)} archived files are missing or "
                "changed; run archive_artifacts to download them again"
            )

    def retention(self, selection, options):
        policy = RetentionPolicy(
            keep_last=options["keep_last"],
            keep_tags=not options["no_keep_tags"],
            keep_refs=tuple(options["keep_ref"] or DEFAULT_KEEP_REFS),
            log_days=options["log_days"],
        )
        self.stdout.write(f"retention policy: {policy.describe()}")
        try:
            report = apply_retention(
                policy,
                dry_run=options["dry_run"],
                selection=selection,
                storage=None if options["dry_run"] else archive_storage(),
            )
        except ArchiveError as exc:
            raise CommandError(str(exc)) from None
        if options["dry_run"]:
            for path in report.paths:
                self.stdout.write(f"would delete {path}")
        self.stdout.write(report.summary())
