"""The options that choose which artifacts a command works on, and the Selection they make:
one definition for the commands that download or read artifacts."""

from datetime import date

from django.core.management.base import CommandError

from artifacts_app.accounts.choose import UnknownAccount, accounts_named
from artifacts_app.archive import Selection


def add_artifact_scope_options(parser, file_type_help, *, workflow_and_until=False):
    """--account, --file-type, --product and --since; with ``workflow_and_until``, --workflow
    and --until."""
    parser.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="NAME",
        help="only this App Store Connect account's artifacts, read with its key (repeatable); "
        "default: every account",
    )
    parser.add_argument(
        "--file-type", action="append", default=[], metavar="TYPE", help=file_type_help
    )
    parser.add_argument(
        "--product",
        action="append",
        default=[],
        metavar="ID",
        help="only this product's App Store Connect id (repeatable)",
    )
    if workflow_and_until:
        parser.add_argument(
            "--workflow",
            action="append",
            default=[],
            metavar="ID",
            help="only this workflow's App Store Connect id (repeatable)",
        )
    parser.add_argument(
        "--since", metavar="YYYY-MM-DD", help="only runs created on or after this day (UTC)"
    )
    if workflow_and_until:
        parser.add_argument(
            "--until", metavar="YYYY-MM-DD", help="only runs created on or before this day (UTC)"
        )


def selection_from_options(options) -> Selection:
    """The Selection the scope options ask for; a malformed day is a CommandError naming it."""
    accounts = ()
    if options.get("account"):
        try:
            accounts = tuple(account.pk for account in accounts_named(options["account"]))
        except UnknownAccount as exc:
            raise CommandError(str(exc)) from None
    return Selection(
        accounts=accounts,
        file_types=tuple(options["file_type"]),
        products=tuple(options["product"]),
        workflows=tuple(options.get("workflow", ())),
        since=_day("--since", options["since"]),
        until=_day("--until", options.get("until")),
    )


def _day(option, value):
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: not a date: {value!r}; use YYYY-MM-DD") from None
