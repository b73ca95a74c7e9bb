import re

from django.contrib.auth.models import User
from django.test import TestCase
from django.urls import reverse


class LoginRequiredTests(TestCase):
    def test_anonymous_visitor_is_sent_to_login_from_the_dashboard(self):
        response = self.client.get(reverse("dashboard"))
        self.assertRedirects(response, f"{reverse('login')}?next=/", fetch_redirect_response=False)

    def test_anonymous_visitor_is_sent_to_login_from_the_admin(self):
        response = self.client.get("/admin/")
        self.assertEqual(response.status_code, 302)
        self.assertIn("login", response["Location"])

    def test_login_page_is_public(self):
        response = self.client.get(reverse("login"))
        self.assertContains(response, "Log in")

    def test_healthz_is_public_and_reports_no_sync_yet(self):
        response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["status"], "stale")
        self.assertIsNone(response.json()["last_sync"])

    def test_user_who_logs_in_reaches_the_dashboard(self):
        User.objects.create_user("dana", password="a-long-test-password")
        response = self.client.post(
            reverse("login"),
            {"username": "dana", "password": "a-long-test-password", "next": "/"},
            follow=True,
        )
        self.assertEqual(response.redirect_chain[-1][0], "/")
        self.assertContains(response, "Build artifacts")

    def test_chart_js_is_served_from_our_own_origin(self):
        self.client.force_login(User.objects.create_user("dana", password="a-long-test-password"))
        page = self.client.get(reverse("dashboard")).content.decode()
        self.assertIn('src="/static/vendor/chart.js/chart.umd', page)
        # Not the word "cdn": a random CSRF token on the page can contain it.
        self.assertNotRegex(page, r'(src|href)="(https?:)?//')


class EveryRouteTests(TestCase):
    """Walks every URL the site routes, so a page added later cannot forget the login."""

    PUBLIC = {
        "login",
        "healthz",
        "favicon",
        "xcode-cloud-webhook",
        "metrics",
    }  # /metrics checks its own token: test_metrics.py

    def routes(self):
        from django.urls import URLPattern, URLResolver, get_resolver

        def walk(patterns, prefix=""):
            for entry in patterns:
                if isinstance(entry, URLResolver):
                    yield from walk(entry.url_patterns, prefix + str(entry.pattern))
                elif isinstance(entry, URLPattern):
                    yield entry.name, prefix + str(entry.pattern)

        for name, pattern in walk(get_resolver().url_patterns):
            if pattern.startswith("admin/"):
                continue  # the admin guards itself; checked above
            pattern = re.sub(r"<int:\w+>", "1", pattern)
            url = "/" + re.sub(r"<(?:\w+:)?\w+>", "some-id", pattern).lstrip("^").rstrip("$")
            yield name, url

    def test_every_route_but_login_and_healthz_turns_anonymous_visitors_away(self):
        checked = 0
        for name, url in self.routes():
            if name in self.PUBLIC:
                continue
            with self.subTest(url=url):
                response = self.client.get(url)
                if url.startswith(("/api/v1/", "/export.csv")):
                    # Scripts get a status and a reason they can read, not an HTML login.
                    self.assertEqual(response.status_code, 401, url)
                    self.assertIn("error", response.json())
                else:
                    self.assertEqual(response.status_code, 302, url)
                    self.assertTrue(response["Location"].startswith(reverse("login")), url)
                checked += 1
        self.assertGreaterEqual(checked, 7)


class LoginThrottleTests(TestCase):
    PASSWORD = "a-long-test-password"

    def log_in(self, password):
        return self.client.post(
            reverse("login"), {"username": "dana", "password": password, "next": "/"}
        )

    def test_after_thirty_wrong_passwords_the_right_one_is_refused_for_a_while(self):
        from datetime import timedelta

        from axes.models import AccessAttempt
        from django.db.models import F

        User.objects.create_user("dana", password=self.PASSWORD)
        for _ in range(30):
            self.log_in("guess")

        refused = self.log_in(self.PASSWORD)

        self.assertEqual(refused.status_code, 429)
        self.assertNotIn("_auth_user_id", self.client.session)
        AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
        self.assertRedirects(self.log_in(self.PASSWORD), "/", fetch_redirect_response=False)

    def test_a_few_typos_do_not_lock_anyone_out(self):
        User.objects.create_user("dana", password=self.PASSWORD)
        for _ in range(3):
            self.log_in("typo")

        self.assertRedirects(self.log_in(self.PASSWORD), "/", fetch_redirect_response=False)
