"""Who sees which App Store Connect account's data: every route and admin page, walked.

Account `tangerine` and account `lagoon` each hold a row of every kind; every name and id of
their rows contains the account's name. A user granted `lagoon` only must find no
`tangerine` in any answer, whatever URL, parameter or admin page they try.
"""

import re
import tempfile

from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.test import TestCase, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from artifacts_app.models import Account, BudgetViolation, CiProduct, SizeBudget
from artifacts_app.tokens import create_token

from .account_data import account_with_data
from .factories import grant

HIDDEN, SHOWN = "tangerine", "lagoon"
# Routes that read no account data, or guard themselves with a secret (their own tests).
NOT_ACCOUNT_DATA = {
    "login",
    "logout",
    "favicon",
    "my-tokens",  # a user's own API tokens
    "revoke-my-token",
    "xcode-cloud-webhook",  # Apple's deliveries, behind the URL's token
    "metrics",  # behind METRICS_TOKEN, for the whole install (test_metrics.py)
}


def routes():
    """(name, pattern) of every URL the site routes outside the admin."""

    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if not str(entry.pattern).startswith("admin/"):
                    yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield entry.name, prefix + str(entry.pattern)

    return list(walk(get_resolver().url_patterns))


class TwoAccountsTestCase(TestCase):
    @classmethod
    def setUpClass(cls):
        cls.archive_root = tempfile.TemporaryDirectory()
        cls.archive_settings = override_settings(ARCHIVE_ROOT=cls.archive_root.name)
        cls.archive_settings.enable()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.archive_settings.disable()
        cls.archive_root.cleanup()

    @classmethod
    def setUpTestData(cls):
        # The hidden account's rows come last: the newest sync pass, delivery and violation
        # are the ones a page that forgot the scope would show first.
        cls.shown, cls.shown_rows = account_with_data(SHOWN, "b", megabytes=7)
        cls.hidden, cls.hidden_rows = account_with_data(HIDDEN, "a")
        # Staff with every view permission: the admin hides nothing from them but accounts.
        cls.user = grant(User.objects.create_user("bea", is_staff=True), cls.shown)
        cls.user.user_permissions.set(
            Permission.objects.filter(content_type__app_label="artifacts_app")
        )

    def get(self, url, **params):
        return self.client.get(url, params)

    def assert_hides_the_other_account(self, response, echoed=()):
        """No trace of account `tangerine` in the answer, except ids the URL itself asked
        for and a page may repeat ("no run with id ...")."""
        body = response.getvalue().decode() if response.streaming else response.content.decode()
        for text in echoed:
            body = body.replace(text, "")
        self.assertNotIn(HIDDEN, body.lower(), response.request["PATH_INFO"])


class EveryRouteTests(TwoAccountsTestCase):
    def urls_of(self, rows):
        """Each route with the ids of `rows`, and the ids it repeats in its answer."""
        run, artifact = rows["runs"][1], rows["artifacts"][1]
        workflow, product = rows["workflow"], rows["product"]
        sha = run.source_commit_sha
        return {
            "dashboard": [
                ("/", ()),
                (f"/?product={product.asc_id}", (product.asc_id,)),
                (f"/?workflow={workflow.asc_id}", (workflow.asc_id,)),
                (f"/?branch={run.source_ref_name}", (run.source_ref_name,)),
            ],
            "workflow": [(f"/workflows/{workflow.asc_id}/", (workflow.asc_id,))],
            "runs": [(f"/runs/?commit={sha[:7]}", ())],
            "run": [(f"/runs/{run.asc_id}/", (run.asc_id,))],
            "archived-file": [(f"/artifacts/{artifact.asc_id}/download", (artifact.asc_id,))],
            "api-stats": [
                ("/api/v1/stats", ()),
                (f"/api/v1/stats?product={product.asc_id}", (product.asc_id,)),
            ],
            "api-artifacts": [("/api/v1/artifacts", ())],
            "api-artifact-contents": [
                (f"/api/v1/artifacts/{artifact.asc_id}/contents", (artifact.asc_id,))
            ],
            "api-run-contents-diff": [(f"/api/v1/runs/{run.asc_id}/contents-diff", (run.asc_id,))],
            "api-runs": [("/api/v1/runs", ()), (f"/api/v1/runs?commit={sha}", ())],
            "export-csv": [("/export.csv", ())],
            "webhook-settings": [("/hooks/xcode-cloud/", ())],
            "violations": [
                ("/violations/", ()),
                (f"/violations/?product={product.asc_id}", (product.asc_id,)),
            ],
            "acknowledge-violation": [],  # a POST: EveryActionTests
            "api-violations": [("/api/v1/violations", ())],
            "api-usage": [("/api/v1/usage", ())],
            "usage": [("/usage/", ())],
            "sync-health": [("/sync/", ())],
            "healthz": [("/healthz", ())],
        }

    def test_every_route_is_walked(self):
        walked = set(self.urls_of(self.shown_rows)) | NOT_ACCOUNT_DATA
        missing = {name for name, _ in routes()} - walked
        self.assertEqual(missing, set(), "a new route: add it to urls_of() with its ids")

    def test_a_user_of_one_account_finds_nothing_of_another_on_any_route(self):
        self.client.force_login(self.user)
        checked = 0
        for name, urls in self.urls_of(self.hidden_rows).items():
            for url, echoed in urls:
                with self.subTest(route=name, url=url):
                    response = self.client.get(url)
                    self.assertIn(response.status_code, (200, 400, 404))
                    self.assert_hides_the_other_account(response, echoed)
                    checked += 1
        self.assertGreaterEqual(checked, 20)

    def test_the_same_routes_show_the_users_own_account(self):
        self.client.force_login(self.user)
        for name, urls in self.urls_of(self.shown_rows).items():
            for url, _ in urls:
                with self.subTest(route=name, url=url):
                    response = self.client.get(url)
                    self.assertEqual(response.status_code, 200, url)
                    body = b"".join(response) if response.streaming else response.content
                    if name not in ("archived-file", "api-stats", "healthz"):  # no names: below
                        self.assertIn(SHOWN, body.decode().lower(), url)

    def test_figures_add_up_the_users_account_only(self):
        self.client.force_login(self.user)
        lagoon_bytes = 3 * 7_000_000  # tangerine's runs hold 3 MB

        totals = self.client.get("/api/v1/stats").json()["totals"]
        download = self.client.get(f"/artifacts/{self.shown_rows['artifacts'][1].asc_id}/download")
        kpis = self.client.get("/").context["kpis"]

        self.assertEqual(totals, {"count": 2, "bytes": lagoon_bytes})
        self.assertEqual((kpis["artifacts"], kpis["bytes"]), (2, lagoon_bytes))
        self.assertEqual(b"".join(download.streaming_content), b"lagoon bytes")

    def test_objects_of_another_account_are_not_found(self):
        self.client.force_login(self.user)
        for name, urls in self.urls_of(self.hidden_rows).items():
            if name in ("workflow", "run", "archived-file", "api-artifact-contents"):
                ((url, _),) = urls
                with self.subTest(url=url):
                    self.assertEqual(self.client.get(url).status_code, 404)


class EveryActionTests(TwoAccountsTestCase):
    def test_another_accounts_violation_cannot_be_acknowledged(self):
        self.client.force_login(self.user)
        hidden = self.hidden_rows["violation"]

        response = self.client.post(reverse("acknowledge-violation"), {"violation": hidden.pk})

        self.assertEqual(response.status_code, 404)
        hidden.refresh_from_db()
        self.assertIsNone(hidden.acknowledged_at)

    def test_the_admin_acknowledge_action_reaches_only_visible_violations(self):
        self.client.force_login(self.user)
        every = list(BudgetViolation.objects.values_list("pk", flat=True))

        self.client.post(
            "/admin/artifacts_app/budgetviolation/",
            {"action": "acknowledge", "_selected_action": every},
        )

        acknowledged = BudgetViolation.objects.exclude(acknowledged_at=None)
        self.assertEqual([v.run.account.name for v in acknowledged], [SHOWN])


class EveryAdminPageTests(TwoAccountsTestCase):
    def account_models(self):
        return [
            (model, model_admin)
            for model, model_admin in admin.site._registry.items()
            if model._meta.app_label == "artifacts_app"
            and hasattr(model._default_manager, "visible_to")
        ]

    def test_every_admin_list_and_page_hides_the_other_account(self):
        self.client.force_login(self.user)
        checked = 0
        for model, _ in self.account_models():
            base = f"/admin/artifacts_app/{model._meta.model_name}/"
            with self.subTest(page=base):
                response = self.client.get(base)
                self.assertEqual(response.status_code, 200, base)
                self.assert_hides_the_other_account(response)
                checked += 1
            if model is Account:
                hidden_pks = [self.hidden.pk]
            else:
                hidden_pks = model._default_manager.of_accounts([self.hidden.pk]).values_list(
                    "pk", flat=True
                )
            for pk in hidden_pks:
                for page in (f"{base}{pk}/change/", f"{base}{pk}/history/"):
                    with self.subTest(page=page):
                        response = self.client.get(page, follow=True)
                        self.assertIn(response.status_code, (200, 404), page)
                        self.assert_hides_the_other_account(response)
                        checked += 1
        self.assertGreaterEqual(checked, 15)

    def test_admin_lists_show_the_users_own_account(self):
        self.client.force_login(self.user)
        for model, _ in self.account_models():
            if model is Account:
                pks = [self.shown.pk]
            else:
                pks = model._default_manager.of_accounts([self.shown.pk]).values_list(
                    "pk", flat=True
                )
            if not pks:
                continue
            base = f"/admin/artifacts_app/{model._meta.model_name}/"
            with self.subTest(model=model._meta.model_name):
                self.assertEqual(self.client.get(f"{base}{pks[0]}/change/").status_code, 200)

    def test_a_product_filter_offers_only_visible_products(self):
        superuser = User.objects.create_superuser("root", password="a-long-pw-1")
        self.client.force_login(superuser)
        page = self.client.get("/admin/artifacts_app/cibuildrun/").content.decode()
        self.assertIn(f"{HIDDEN} App", page)
        self.assertIn(f"{SHOWN} App", page)

        self.client.force_login(self.user)
        page = self.client.get("/admin/artifacts_app/cibuildrun/").content.decode()
        self.assertNotIn(f"{HIDDEN} App", page)
        self.assertIn(f"{SHOWN} App", page)


class BudgetAdminTests(TwoAccountsTestCase):
    def test_a_budget_is_added_to_a_visible_account_for_its_products_only(self):
        self.client.force_login(self.user)
        form = self.client.get("/admin/artifacts_app/sizebudget/add/").content.decode()
        self.assertNotIn(HIDDEN, form.lower())
        self.assertIn(f'<option value="{self.shown.pk}">{SHOWN}</option>', form)

        def add(**fields):
            data = {"name": "cap", "max_bytes": "1000", "account": self.shown.pk, **fields}
            return self.client.post("/admin/artifacts_app/sizebudget/add/", data)

        refused = add(product_asc_id=f"{HIDDEN}-product")
        other_account = add(account=self.hidden.pk)
        added = add(product_asc_id=f"{SHOWN}-product")

        self.assertContains(refused, "no such product synced")
        self.assertContains(other_account, "Select a valid choice")
        self.assertEqual(added.status_code, 302)
        self.assertEqual(SizeBudget.objects.get(name="cap").account, self.shown)


class GrantTests(TwoAccountsTestCase):
    def test_a_superuser_sees_every_account(self):
        self.client.force_login(User.objects.create_superuser("root", password="a-long-pw-1"))
        page = self.client.get("/").content.decode()
        self.assertIn(f"{HIDDEN} Nightly", page)
        self.assertIn(f"{SHOWN} Nightly", page)
        self.assertEqual(self.client.get("/api/v1/artifacts").json()["count"], 4)

    def test_a_revoked_user_no_longer_sees_the_account(self):
        dana = grant(User.objects.create_user("dana"), self.hidden)
        self.client.force_login(dana)
        self.assertEqual(self.client.get("/api/v1/artifacts").json()["count"], 2)
        run = self.hidden_rows["runs"][0]
        self.assertEqual(self.client.get(f"/runs/{run.asc_id}/").status_code, 200)

        self.hidden.users.remove(dana)

        self.assertEqual(self.client.get("/api/v1/artifacts").json()["count"], 0)
        self.assertEqual(self.client.get(f"/runs/{run.asc_id}/").status_code, 404)
        self.assert_hides_the_other_account(self.client.get("/"))

    def test_an_api_token_sees_what_its_user_sees(self):
        _, token = create_token(self.user)
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

        answer = self.client.get("/api/v1/runs", **auth)
        csv = b"".join(self.client.get("/export.csv", **auth)).decode()

        self.assertEqual(
            {run["id"] for run in answer.json()["results"]}, {f"{SHOWN}-run-1", f"{SHOWN}-run-2"}
        )
        self.assertIn(SHOWN, csv)
        self.assertNotIn(HIDDEN, csv)

    def test_a_group_grants_its_members_the_account(self):
        team = Group.objects.create(name="mobile")
        self.hidden.groups.add(team)
        dana = User.objects.create_user("dana")
        dana.groups.add(team)
        self.client.force_login(dana)

        products = {
            row["product"]["id"] for row in self.client.get("/api/v1/artifacts").json()["results"]
        }

        self.assertEqual(products, {f"{HIDDEN}-product"})


class AccountParameterTests(TwoAccountsTestCase):
    def setUp(self):
        self.both = grant(grant(User.objects.create_user("both"), self.hidden), self.shown)

    def test_account_narrows_the_api_and_the_csv(self):
        self.client.force_login(self.both)
        everything = self.client.get("/api/v1/artifacts").json()
        only = self.client.get("/api/v1/artifacts", {"account": SHOWN}).json()
        csv = b"".join(self.client.get("/export.csv", {"account": HIDDEN})).decode()

        self.assertEqual((everything["count"], only["count"]), (4, 2))
        self.assertEqual({r["product"]["id"] for r in only["results"]}, {f"{SHOWN}-product"})
        self.assertIn(f"{HIDDEN}-1.xcarchive.zip", csv)
        self.assertNotIn(SHOWN, csv)

    def test_account_repeats(self):
        self.client.force_login(self.both)
        answer = self.client.get("/api/v1/stats", {"account": [SHOWN, HIDDEN]}).json()
        self.assertEqual(answer["totals"]["count"], 4)

    def test_an_account_not_granted_is_answered_like_one_that_does_not_exist(self):
        self.client.force_login(self.user)
        for name in (HIDDEN, "no-such-account"):
            with self.subTest(name=name):
                response = self.client.get("/api/v1/runs", {"account": name})
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json(), {"error": f"account: no account named {name!r}"})

    def test_a_product_of_another_account_is_unknown_within_the_chosen_one(self):
        self.client.force_login(self.both)
        response = self.client.get(
            "/api/v1/runs", {"account": SHOWN, "product": f"{HIDDEN}-product"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("product: no product with id", response.json()["error"])

    def test_the_violations_api_takes_the_account_too(self):
        self.client.force_login(self.both)
        response = self.client.get("/api/v1/violations", {"account": HIDDEN}).json()
        self.assertEqual([v["budget"] for v in response["results"]], [f"{HIDDEN}-cap"])

    def test_a_user_of_both_accounts_can_switch_and_compare_them(self):
        self.client.force_login(self.both)
        response = self.client.get("/")
        share = [(row["account"], row["bytes"]) for row in response.context["by_account"]["share"]]
        one = self.client.get("/", {"account": SHOWN})

        self.assertContains(response, 'id="f-account"')
        self.assertContains(response, "Size per day by account")
        self.assertEqual(share, [(SHOWN, 21_000_000), (HIDDEN, 3_000_000)])
        self.assertIsNone(one.context["by_account"])
        self.assertNotContains(one, "by account")

    def test_with_several_accounts_names_say_whose_they_are(self):
        self.client.force_login(self.both)
        several = self.client.get("/").context
        one = self.client.get("/", {"account": SHOWN}).context
        trend = {dataset["name"] for dataset in several["trend"]["workflows"]}

        products = several["options"]["products"]
        self.assertIn((f"{SHOWN}-product", f"{SHOWN} App ({SHOWN})"), products)
        self.assertIn(f"{HIDDEN} · {HIDDEN} App · {HIDDEN} Nightly", trend)
        self.assertEqual(one["options"]["products"], [(f"{SHOWN}-product", f"{SHOWN} App")])
        self.assertEqual(
            [d["name"] for d in one["trend"]["workflows"]], [f"{SHOWN} App · {SHOWN} Nightly"]
        )

    def test_a_user_of_one_account_has_no_account_switcher(self):
        self.client.force_login(self.user)
        self.assertNotContains(self.client.get("/"), 'id="f-account"')

    def test_the_dashboard_keeps_the_chosen_account_in_its_links(self):
        self.client.force_login(self.both)
        page = self.client.get("/", {"account": SHOWN}).content.decode()
        self.assertIn(f"account={SHOWN}", page)
        self.assertNotIn(f"{HIDDEN} Nightly", page)


class NoAccountTests(TestCase):
    def test_a_user_without_an_account_is_told_why_the_dashboard_is_empty(self):
        account_with_data(HIDDEN, "a")
        self.client.force_login(User.objects.create_user("newcomer"))

        page = self.client.get("/").content.decode()

        self.assertIn("No App Store Connect account has been granted to you", page)
        self.assertIn("manage.py asc_account grant", page)
        self.assertNotIn(HIDDEN, page.lower())
        self.assertEqual(self.client.get("/api/v1/artifacts").json()["count"], 0)
        self.assertFalse(CiProduct.objects.visible_to(User.objects.get(username="newcomer")))

    def test_before_any_account_exists_the_dashboard_asks_for_a_sync(self):
        self.client.force_login(User.objects.create_superuser("root", password="a-long-pw-1"))
        page = self.client.get("/").content.decode()
        self.assertIn("No artifacts yet", page)
        self.assertNotIn("granted", page)

    def test_the_admin_says_nothing_of_accounts_to_a_user_without_one(self):
        account_with_data(HIDDEN, "a")
        user = User.objects.create_user("newcomer", is_staff=True)
        user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
        self.client.force_login(user)
        page = self.client.get("/admin/artifacts_app/ciartifact/").content.decode()
        self.assertNotIn(HIDDEN, page.lower())
        self.assertTrue(re.search(r"0 artifacts", page))
