"""`manage.py size_budget add|list|remove`: size budgets and where their alerts go."""

from django.core.management.base import BaseCommand, CommandError

from artifacts_app.budgets.models import SizeBudget
from artifacts_app.budgets.rules import BudgetError, add_budget, describe, remove_budget


class Command(BaseCommand):
    help = "Add, list or remove size budgets (limits on a build run's bytes) and their alerts."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="add|list|remove")
        add = actions.add_parser("add", help="Add a budget.")
        add.add_argument("name")
        limit = add.add_mutually_exclusive_group(required=True)
        limit.add_argument("--max-bytes", type=int, metavar="N", help="Bytes a run may have.")
        limit.add_argument(
            "--max-growth",
            metavar="PERCENT",
            help="How much a run may grow over its baseline, in percent.",
        )
        add.add_argument("--product", default="", metavar="ID", help="Only this product.")
        add.add_argument("--workflow", default="", metavar="ID", help="Only this workflow.")
        add.add_argument("--branch", default="", metavar="NAME", help="Only this branch or tag.")
        add.add_argument(
            "--file-type", default="", metavar="TYPE", help="Count only this file type."
        )
        add.add_argument(
            "--notify",
            action="append",
            default=[],
            metavar="URL",
            help="Apprise URL to alert (repeatable): slack://..., mailtos://..., json://...",
        )
        actions.add_parser("list", help="List the budgets.")
        remove = actions.add_parser("remove", help="Remove a budget.")
        remove.add_argument("name")

    def handle(self, *args, **options):
        try:
            getattr(self, f"_{options['action']}")(options)
        except BudgetError as exc:
            raise CommandError(str(exc)) from None

    def _add(self, options):
        budget = add_budget(
            options["name"],
            max_bytes=options["max_bytes"],
            max_growth=options["max_growth"],
            product=options["product"],
            workflow=options["workflow"],
            branch=options["branch"],
            file_type=options["file_type"],
            notify=options["notify"],
        )
        self.stdout.write(f"added {describe(budget)}")

    def _list(self, options):
        budgets = SizeBudget.objects.all()
        for budget in budgets:
            self.stdout.write(describe(budget))
        if not budgets:
            self.stdout.write("no size budgets")

    def _remove(self, options):
        remove_budget(options["name"])
        self.stdout.write(f"removed {options['name']}")
