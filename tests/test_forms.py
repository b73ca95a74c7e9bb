"""The filter form: every query parameter of every page and endpoint is bounded."""

from datetime import UTC, date, datetime

from django.contrib.auth.models import User
from django.http import QueryDict
from django.test import TestCase
from django.urls import reverse

from artifacts_app.forms import FilterForm
from tests.factories import (
    grant,
    make_artifact,
    make_build_action,
    make_build_run,
    make_workflow,
    reader,
)

# Digits of other scripts (which `str.isdigit()` accepts and `int()` partly does not), numbers
# past any bound and past `int()`'s digit limit, empty values, control and format characters.
HOSTILE_VALUES = (
    "",
    "²",
    "٣",
    "１２",
    "9" * 10240,
    "-1e309",
    "nan",
    "0",
    "\x00",
    "\u202e1",
    "2026-11-3١",
)
PARAMETERS = tuple(FilterForm.base_fields)


def form(**params):
    query = QueryDict(mutable=True)
    for key, value in params.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    return FilterForm(query, user=reader(), today=date(2026, 11, 30))


class FilterFormTests(TestCase):
    def test_digits_of_other_scripts_are_refused_naming_the_parameter(self):
        for name, value in (
            ("page", "²"),
            ("window", "¹"),
            ("page", "١٢"),
            ("start", "２０２６-11-01"),
        ):
            with self.subTest(name=name, value=value):
                checked = form(**{name: value})
                self.assertFalse(checked.is_valid())
                self.assertTrue(checked.error_line().startswith(f"{name}: "))

    def test_a_page_number_of_ten_thousand_digits_is_refused(self):
        checked = form(page="9" * 10240)
        self.assertFalse(checked.is_valid())
        self.assertEqual(checked.error_line(), "page: must be a whole number from 1 to 1000000")

    def test_a_repeated_single_value_parameter_is_refused(self):
        checked = form(window=["5", "6"])
        self.assertEqual(checked.error_line(), "window: give it once, not 2 times")

    def test_without_parameters_the_scope_is_the_last_90_days_by_day(self):
        scope = form().scope
        self.assertEqual((scope.start, scope.end), (date(2026, 9, 2), date(2026, 11, 30)))
        self.assertEqual((scope.granularity, scope.page), ("day", 1))

    def test_a_workflow_form_ignores_product_and_workflow_parameters(self):
        workflow = make_workflow()
        query = QueryDict("product=nope&workflow=nope&granularity=week")
        scope = FilterForm(query, user=reader(), workflow=workflow).scope
        self.assertEqual(
            (scope.workflows, scope.workflow_pks), ((workflow.asc_id,), (workflow.pk,))
        )
        self.assertEqual((scope.products, scope.granularity), ((), "week"))


class QueryFuzzTests(TestCase):
    """No value of any parameter, alone, repeated or beside others, makes any page or
    endpoint answer 500."""

    @classmethod
    def setUpTestData(cls):
        cls.user = grant(User.objects.create_user("dana", password="x-long-password"))
        run = make_build_run(created_date=datetime(2026, 11, 2, tzinfo=UTC))
        artifact = make_artifact(build_action=make_build_action(build_run=run))
        cls.filtered = (
            reverse("dashboard"),
            reverse("workflow", args=[run.workflow.asc_id]),
            reverse("api-stats"),
            reverse("api-artifacts"),
            reverse("export-csv"),
        )
        cls.others = (
            reverse("run", args=[run.asc_id]),
            reverse("archived-file", args=[artifact.asc_id]),
            reverse("healthz"),
            reverse("login"),
        )

    def setUp(self):
        self.client.force_login(self.user)

    def server_errors(self, urls, queries):
        return [
            (url, {name: [v[:12] for v in values] for name, values in query.items()})
            for url in urls
            for query in queries
            if self.client.get(url, query).status_code >= 500
        ]

    def test_each_parameter_alone_with_any_value(self):
        queries = [{name: [value]} for name in PARAMETERS for value in HOSTILE_VALUES]
        self.assertEqual(self.server_errors(self.filtered, queries), [])

    def test_every_parameter_at_once_repeated_or_beside_a_good_value(self):
        queries = [
            {name: values for name in (*PARAMETERS, "next")}
            for value in HOSTILE_VALUES
            for values in ([value], [value, value], ["1", value])
        ]
        self.assertEqual(self.server_errors(self.filtered + self.others, queries), [])
