import threading
import unittest
from datetime import timedelta

from django.db import connection, connections
from django.test import TestCase, TransactionTestCase
from django.utils import timezone

from artifacts_app.asc.errors import NotFoundError, ServerError
from artifacts_app.models import default_account
from artifacts_app.webhooks import queue
from artifacts_app.webhooks.models import QueuedRun, WebhookDelivery


class WebhookQueueTests(TestCase):
    def test_runs_are_taken_oldest_first_and_only_once(self):
        queue.record_delivery("run-a", "BUILD_CREATED", default_account())
        queue.record_delivery("run-b", "BUILD_CREATED", default_account())
        first, second = queue.claim("one", default_account()), queue.claim("two", default_account())
        self.assertEqual((first.run_id, second.run_id), ("run-a", "run-b"))
        self.assertIsNone(queue.claim("three", default_account()))

    def test_claim_of_a_dead_worker_expires(self):
        queue.record_delivery("run-a", "BUILD_COMPLETED", default_account())
        queue.claim("dead", default_account())
        QueuedRun.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
        self.assertEqual(queue.claim("alive", default_account()).run_id, "run-a")

    def test_drain_fetches_each_run_once_for_all_its_events(self):
        for event in ("BUILD_CREATED", "BUILD_STARTED", "BUILD_COMPLETED"):
            queue.record_delivery("run-a", event, default_account())
        fetched = []
        self.assertEqual(queue.drain(fetched.append, "me", default_account()), 1)
        self.assertEqual(fetched, ["run-a"])
        self.assertFalse(QueuedRun.objects.exists())
        self.assertEqual(WebhookDelivery.objects.filter(synced_at=None).count(), 0)

    def test_event_arriving_while_the_run_is_fetched_gets_it_fetched_again(self):
        queue.record_delivery("run-a", "BUILD_STARTED", default_account())
        fetched = []

        def fetch(run_id):
            fetched.append(run_id)
            if len(fetched) == 1:
                queue.record_delivery("run-a", "BUILD_COMPLETED", default_account())

        queue.drain(fetch, "me", default_account())
        self.assertEqual(fetched, ["run-a", "run-a"])
        self.assertFalse(QueuedRun.objects.exists())

    def test_run_unknown_upstream_is_dequeued_with_the_reason(self):
        queue.record_delivery("run-gone", "BUILD_COMPLETED", default_account())

        def fetch(run_id):
            raise NotFoundError("404 NOT_FOUND: no such run", status=404)

        self.assertEqual(queue.drain(fetch, "me", default_account()), 0)
        self.assertFalse(QueuedRun.objects.exists())
        self.assertIn("404", WebhookDelivery.objects.get().error)

    def test_failing_fetch_backs_off_and_keeps_the_run(self):
        queue.record_delivery("run-a", "BUILD_COMPLETED", default_account())

        def fetch(run_id):
            raise ServerError("503 from App Store Connect; try again later", status=503)

        with self.assertRaises(ServerError):
            queue.drain(fetch, "me", default_account())
        row = QueuedRun.objects.get()
        self.assertGreater(row.not_before, timezone.now())
        self.assertIn("503", row.error)
        self.assertIsNone(queue.claim("me", default_account()))  # not due yet


@unittest.skipUnless(connection.vendor == "postgresql", "SKIP LOCKED needs PostgreSQL")
class ConcurrentQueueTests(TransactionTestCase):
    def test_two_workers_never_take_the_same_run(self):
        for n in range(40):
            queue.record_delivery(f"run-{n:02d}", "BUILD_COMPLETED", default_account())
        taken = {"a": [], "b": []}
        start = threading.Barrier(2)

        def worker(name):
            try:
                start.wait()
                while (claim := queue.claim(name, default_account())) is not None:
                    taken[name].append(claim.run_id)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker, args=(name,)) for name in taken]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        both = taken["a"] + taken["b"]
        self.assertEqual(sorted(both), [f"run-{n:02d}" for n in range(40)])
