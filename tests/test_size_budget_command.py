from io import StringIO

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase

from artifacts_app.budgets.models import SizeBudget

from .factories import make_workflow


def size_budget(*args):
    out = StringIO()
    call_command("size_budget", *args, stdout=out)
    return out.getvalue()


class SizeBudgetCommandTests(TestCase):
    def test_add_list_and_remove(self):
        workflow = make_workflow()
        output = size_budget(
            "add",
            "release archive",
            "--max-growth",
            "5",
            "--workflow",
            workflow.asc_id,
            "--branch",
            "main",
            "--file-type",
            "archive",
            "--notify",
            "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
        )
        self.assertIn("release archive", output)
        listing = size_budget("list")
        self.assertIn("max growth 5% over the baseline", listing)
        self.assertIn(f"workflow {workflow.asc_id}, branch main, file type ARCHIVE", listing)
        self.assertIn("slack://", listing)
        self.assertNotIn("TIiajkdnlazkcOXrIdevi7FQ", listing)  # the token stays hidden
        self.assertIn("removed", size_budget("remove", "release archive"))
        self.assertEqual(size_budget("list").strip(), "no size budgets")

    def test_limit_is_required_and_exclusive(self):
        with self.assertRaises(CommandError):
            size_budget("add", "cap")
        with self.assertRaises(CommandError):
            size_budget("add", "cap", "--max-bytes", "10", "--max-growth", "5")

    def test_bad_input_is_one_line_naming_the_option(self):
        cases = {
            ("--max-growth", "lots"): "--max-growth",
            ("--max-bytes", "1", "--product", "nope"): "--product nope",
            ("--max-bytes", "1", "--file-type", "PDF"): "--file-type",
            ("--max-bytes", "1", "--notify", "nonsense://x"): "--notify",
        }
        for args, expected in cases.items():
            with self.subTest(args=args), self.assertRaises(CommandError) as caught:
                size_budget("add", "cap", *args)
            self.assertIn(expected, str(caught.exception))
            self.assertNotIn("\n", str(caught.exception))
        self.assertFalse(SizeBudget.objects.exists())

    def test_duplicate_name_and_unknown_removal_are_reported(self):
        size_budget("add", "cap", "--max-bytes", "100")
        with self.assertRaisesMessage(CommandError, "exists"):
            size_budget("add", "cap", "--max-bytes", "200")
        with self.assertRaisesMessage(CommandError, "no budget named"):
            size_budget("remove", "other")
