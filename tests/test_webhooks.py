import io
import json
import logging

from django.contrib.auth.models import User
from django.test import Client, TestCase, override_settings

from artifacts_app.asc.simulator import Dataset
from artifacts_app.asc.simulator.webhooks import delivery
from artifacts_app.webhooks.models import QueuedRun, WebhookDelivery
from artifacts_app.webhooks.payload import MAX_BODY_BYTES
from tests.factories import grant

TOKEN = "hook-token-0123456789abcdef"
URL = f"/hooks/xcode-cloud/{TOKEN}"


def apple_delivery(event_type="BUILD_COMPLETED"):
    """A delivery as Xcode Cloud sends it, for a run of a small simulated account."""
    dataset = Dataset(seed=3, runs=4, products=1)
    run = next(iter(dataset.runs.values()))
    return delivery(run, event_type, dataset.now_ts, "https://dashboard.example.com" + URL)


@override_settings(XCODE_CLOUD_WEBHOOK_TOKEN=[TOKEN])
class XcodeCloudWebhookTests(TestCase):
    def setUp(self):
        # Apple sends no CSRF token: the receiver must work with CSRF checks on.
        self.apple = Client(enforce_csrf_checks=True)

    def post(self, body, url=URL, **extra):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.apple.post(url, data, content_type="application/json", **extra)

    def test_apple_delivery_is_accepted_and_queues_its_run(self):
        body = apple_delivery()
        response = self.post(body)
        self.assertEqual(response.status_code, 202)
        run_id = body["ciBuildRun"]["id"]
        self.assertEqual(response.json(), {"status": "queued", "run": run_id})
        self.assertTrue(QueuedRun.objects.filter(run_asc_id=run_id).exists())
        self.assertEqual(
            WebhookDelivery.objects.get(run_asc_id=run_id).event_type, "BUILD_COMPLETED"
        )

    def test_each_event_of_a_run_is_recorded_but_the_run_is_queued_once(self):
        for event in ("BUILD_CREATED", "BUILD_STARTED", "BUILD_COMPLETED"):
            self.assertEqual(self.post(apple_delivery(event)).status_code, 202)
        self.assertEqual(WebhookDelivery.objects.count(), 3)
        self.assertEqual(QueuedRun.objects.count(), 1)

    def test_replayed_delivery_does_no_new_work(self):
        body = apple_delivery()
        self.post(body)
        QueuedRun.objects.all().delete()  # the run was fetched meanwhile
        response = self.post(body)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["status"], "duplicate")
        self.assertFalse(QueuedRun.objects.exists())
        self.assertEqual(WebhookDelivery.objects.get().deliveries, 2)

    def test_unknown_event_type_and_enum_values_are_accepted(self):
        body = apple_delivery()
        body["metadata"]["attributes"]["eventType"] = "BUILD_ARCHIVED_SOMEWHERE_NEW"
        body["ciBuildRun"]["attributes"]["executionProgress"] = "TELEPORTING"
        body["scmGitReference"]["attributes"]["kind"] = "branch"
        response = self.post(body)
        self.assertEqual(response.status_code, 202)
        self.assertEqual(WebhookDelivery.objects.get().event_type, "BUILD_ARCHIVED_SOMEWHERE_NEW")

    def test_event_type_casing_is_normalised(self):
        body = apple_delivery()
        body["metadata"]["attributes"]["eventType"] = "build_completed"
        self.post(body)
        self.assertEqual(WebhookDelivery.objects.get().event_type, "BUILD_COMPLETED")

    def test_delivery_without_event_type_is_queued_as_unrecognized(self):
        body = apple_delivery()
        del body["metadata"]
        self.assertEqual(self.post(body).status_code, 202)
        self.assertEqual(WebhookDelivery.objects.get().event_type, "UNRECOGNIZED")

    def test_wrong_token_gets_404_and_changes_nothing(self):
        response = self.post(apple_delivery(), url="/hooks/xcode-cloud/not-the-token")
        self.assertEqual(response.status_code, 404)
        self.assertFalse(WebhookDelivery.objects.exists())
        self.assertFalse(QueuedRun.objects.exists())

    @override_settings(XCODE_CLOUD_WEBHOOK_TOKEN=[])
    def test_receiver_is_off_without_a_configured_token(self):
        self.assertEqual(self.post(apple_delivery()).status_code, 404)

    @override_settings(XCODE_CLOUD_WEBHOOK_TOKEN=["new-token-abcdefghijkl", TOKEN])
    def test_old_token_keeps_working_while_it_is_rotated_out(self):
        self.assertEqual(self.post(apple_delivery("BUILD_CREATED")).status_code, 202)
        new_url = "/hooks/xcode-cloud/new-token-abcdefghijkl"
        self.assertEqual(self.post(apple_delivery(), url=new_url).status_code, 202)

    def test_body_over_one_megabyte_gets_413(self):
        body = apple_delivery()
        body["padding"] = "x" * MAX_BODY_BYTES
        response = self.post(body)
        self.assertEqual(response.status_code, 413)
        self.assertFalse(WebhookDelivery.objects.exists())

    def test_body_over_the_limit_with_a_false_length_is_refused(self):
        response = self.post(b"{" + b" " * (MAX_BODY_BYTES + 10) + b"}", CONTENT_LENGTH="10")
        self.assertIn(response.status_code, (400, 413))
        self.assertFalse(WebhookDelivery.objects.exists())

    def test_malformed_bodies_get_400_with_a_reason(self):
        bodies = [
            b"{not json",
            b"\xff\xfe\x00",
            b"",
            b"[1, 2]",
            b"[" * 200_000,  # nested deeper than the parser recurses
            b'"text"',
            json.dumps({"ciBuildRun": {"attributes": {}}}).encode(),
            json.dumps({"ciBuildRun": {"id": "../../v1/apps"}}).encode(),
            json.dumps({"ciBuildRun": {"id": 12}}).encode(),
        ]
        for body in bodies:
            with self.subTest(body=body[:30]):
                response = self.post(body)
                self.assertEqual(response.status_code, 400)
                self.assertTrue(response.json()["error"])
        self.assertFalse(WebhookDelivery.objects.exists())

    def test_get_is_refused(self):
        self.assertEqual(self.apple.get(URL).status_code, 405)

    def test_token_never_reaches_the_logs(self):
        console = next(h for h in logging.getLogger().handlers if h.filters)  # from LOGGING
        output = io.StringIO()
        previous = console.setStream(output)
        try:
            self.post(b"{not json")  # Django logs "Bad Request: <path>"
        finally:
            console.setStream(previous)
        self.assertIn("/hooks/xcode-cloud/", output.getvalue())
        self.assertNotIn(TOKEN, output.getvalue())

    def test_other_views_still_check_csrf(self):
        User.objects.create_user("dana", password="a-long-test-password")
        self.apple.force_login(User.objects.get(username="dana"))
        response = self.apple.post("/violations/acknowledge", {"violation": "1"})
        self.assertEqual(response.status_code, 403)


@override_settings(XCODE_CLOUD_WEBHOOK_TOKEN=[TOKEN], SITE_URL="https://artifacts.example.com")
class WebhookSettingsPageTests(TestCase):
    def test_staff_see_the_full_url_to_paste_into_app_store_connect(self):
        self.client.force_login(grant(User.objects.create_user("ops", is_staff=True)))
        response = self.client.get("/hooks/xcode-cloud/")
        self.assertContains(response, f"https://artifacts.example.com{URL}")
        self.assertEqual(response["Cache-Control"].count("no-store"), 1)

    def test_other_users_do_not_see_the_secret_url(self):
        self.client.force_login(User.objects.create_user("dana"))
        response = self.client.get("/hooks/xcode-cloud/")
        self.assertEqual(response.status_code, 403)
        self.assertNotIn(TOKEN, response.content.decode())
