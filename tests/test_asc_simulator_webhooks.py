from unittest import TestCase

from artifacts_app.asc.simulator import Dataset
from artifacts_app.asc.simulator.webhooks import WebhookSender

from .http_receiver import Receiver

APPLE_KEYS = {
    "webhook",
    "metadata",
    "app",
    "ciWorkflow",
    "ciProduct",
    "ciBuildRun",
    "ciBuildActions",
    "scmProvider",
    "scmRepository",
    "scmGitReference",
}


class SimulatorWebhookTests(TestCase):
    def setUp(self):
        self.receiver = Receiver().__enter__()
        self.addCleanup(self.receiver.__exit__)
        self.dataset = Dataset(seed=5, runs=20, products=2)
        self.sender = WebhookSender(self.dataset, f"http://127.0.0.1:{self.receiver.port}/hook")

    def events(self):
        return [
            (body["ciBuildRun"]["id"], body["metadata"]["attributes"]["eventType"])
            for body in self.receiver.received
        ]

    def test_clock_sends_created_started_and_completed_for_each_new_run(self):
        self.sender.advance(hours=3)
        self.sender.advance(days=1)
        now = self.dataset.now_ts
        new_runs = [run for run in self.dataset.runs.values() if run.index >= 20]
        finished = [run for run in new_runs if run.progress(now) == "COMPLETE"]
        self.assertTrue(finished)
        for run in new_runs:
            with self.subTest(run=run.number):
                events = [event for run_id, event in self.events() if run_id == run.id]
                expected = ["BUILD_CREATED", "BUILD_STARTED", "BUILD_COMPLETED"]
                if run in finished:
                    self.assertEqual(events, expected)
                else:
                    self.assertEqual(events, expected[: len(events)])

    def test_runs_running_at_start_send_only_what_happens_next(self):
        now = self.dataset.now_ts
        live = [run for run in self.dataset.runs.values() if run.progress(now) != "COMPLETE"]
        self.assertTrue(live)
        self.sender.advance(days=1)
        for run in live:
            events = [event for run_id, event in self.events() if run_id == run.id]
            self.assertNotIn("BUILD_CREATED", events)
            self.assertEqual(events[-1], "BUILD_COMPLETED")

    def test_delivery_has_apples_shape_and_the_run_as_the_api_shows_it(self):
        self.sender.advance(days=1)
        body = next(
            b for b in self.receiver.received if b["ciBuildRun"]["attributes"]["finishedDate"]
        )
        self.assertLessEqual(APPLE_KEYS, set(body))
        self.assertEqual(body["path"], "/hook")
        run = self.dataset.runs[body["ciBuildRun"]["id"]]
        attributes = body["ciBuildRun"]["attributes"]
        self.assertEqual(attributes["number"], run.number)
        self.assertEqual(attributes["executionProgress"], "COMPLETE")
        self.assertEqual(body["ciWorkflow"]["id"], run.workflow.id)
        self.assertEqual(body["ciProduct"]["id"], run.product.id)
        self.assertEqual(body["scmGitReference"]["attributes"]["name"], run.source_ref.name)
        self.assertEqual(len(body["ciBuildActions"]), len(run.actions))

    def test_receiver_that_fails_is_retried_then_counted(self):
        self.receiver.status = 503
        self.sender.retry_pause = 0
        self.sender.advance(hours=2)
        self.assertGreater(self.sender.failed, 0)
        self.assertEqual(self.sender.sent, 0)

    def test_url_must_be_http(self):
        with self.assertRaisesRegex(ValueError, "http"):
            WebhookSender(self.dataset, "ftp://example.com/hook")
