"""Webhook deliveries through to the mirror: receiver -> queue -> one run fetched by id."""

import json

import pytest

from artifacts_app.asc.simulator.webhooks import WebhookSender, delivery
from artifacts_app.budgets.models import BudgetViolation, SizeBudget
from artifacts_app.budgets.rules import add_budget
from artifacts_app.budgets.watch import check_and_alert
from artifacts_app.models import CiArtifact, CiBuildAction, CiBuildRun, CiProduct
from artifacts_app.sync import sync, sync_queued
from artifacts_app.webhooks.models import QueuedRun, WebhookDelivery
from tests.http_receiver import Receiver
from tests.sync_helpers import fast_client, stored_artifacts, upstream_artifacts

pytestmark = pytest.mark.django_db

TOKEN = "webhook-token-for-tests-0123456789"


@pytest.fixture
def apple(client, settings, simulator):
    """Xcode Cloud: the simulator's clock, delivering to the dashboard's receiver."""
    settings.XCODE_CLOUD_WEBHOOK_TOKEN = [TOKEN]
    path = f"/hooks/xcode-cloud/{TOKEN}"

    def post(url, data):
        return client.post(path, data, content_type="application/json").status_code

    return WebhookSender(simulator.dataset, "http://dashboard.test" + path, post=post)


def runs_of(sender_bodies, event):
    return [
        b["ciBuildRun"]["id"]
        for b in sender_bodies
        if b["metadata"]["attributes"]["eventType"] == event
    ]


def test_completed_run_is_fetched_with_the_fewest_calls(simulator, asc_tokens, apple):
    client = fast_client(simulator, asc_tokens)
    sync(client)
    bodies = apple.advance(hours=2)
    completed = runs_of(bodies, "BUILD_COMPLETED")
    assert completed
    queued = {b["ciBuildRun"]["id"] for b in bodies}
    already = set(
        CiBuildAction.objects.filter(execution_progress="COMPLETE").values_list("asc_id", flat=True)
    )
    result = sync_queued(client)
    assert result.runs == len(queued)
    assert not QueuedRun.objects.exists()
    assert WebhookDelivery.objects.filter(synced_at=None).count() == 0
    for run_id in completed:
        assert CiBuildRun.objects.get(asc_id=run_id).execution_progress == "COMPLETE"
    finished = {a for a in stored_artifacts() if a[5] in completed}
    assert finished == {a for a in upstream_artifacts(simulator.dataset) if a[5] in completed}
    # The minimum: a run still going costs itself; a completed one also its actions and the
    # artifacts of each action that completed since it was stored.
    now = simulator.dataset.now_ts
    minimum = 0
    for run in (simulator.dataset.runs[run_id] for run_id in queued):
        minimum += 1
        if run.progress(now) == "COMPLETE":
            minimum += 1 + sum(
                1 for a in run.actions if a.progress(now) == "COMPLETE" and a.id not in already
            )
    assert result.api_calls == minimum


def test_run_stored_complete_costs_no_call(simulator, asc_tokens, apple):
    client = fast_client(simulator, asc_tokens)
    apple.advance(hours=2)
    sync(client)  # a pass took the queue and everything else
    run = CiBuildRun.objects.filter(execution_progress="COMPLETE").first()
    apple.deliver(delivery(simulator.dataset.runs[run.asc_id], "UNRECOGNIZED", 0))
    assert sync_queued(client).api_calls == 0
    assert not QueuedRun.objects.exists()


def test_delivery_for_a_run_the_api_does_not_know_is_recorded_not_retried(
    simulator, asc_tokens, apple, client
):
    api = fast_client(simulator, asc_tokens)
    sync(api)
    before = CiArtifact.objects.count()
    body = delivery(next(iter(simulator.dataset.runs.values())), "BUILD_COMPLETED", 0)
    body["ciBuildRun"]["id"] = "00000000-0000-0000-0000-000000000000"
    assert apple.deliver(body)
    assert sync_queued(api).runs == 0
    assert not QueuedRun.objects.exists()
    assert "404" in WebhookDelivery.objects.get().error
    assert CiArtifact.objects.count() == before


def test_plain_pass_takes_the_queue_first(simulator, asc_tokens, apple):
    client = fast_client(simulator, asc_tokens)
    products = simulator.dataset.products
    sync(client, products=[products[0].id])
    bodies = apple.advance(hours=2)
    other = [b["ciBuildRun"]["id"] for b in bodies if b["ciProduct"]["id"] != products[0].id]
    assert other
    sync(client, products=[products[0].id])  # a pass of another product still takes the queue
    assert set(other) <= set(CiBuildRun.objects.values_list("asc_id", flat=True))
    assert not QueuedRun.objects.exists()


def test_run_of_a_product_never_synced_brings_its_product_and_workflow(
    simulator, asc_tokens, apple
):
    client = fast_client(simulator, asc_tokens)
    bodies = apple.advance(hours=2)
    sync_queued(client)
    run = CiBuildRun.objects.select_related("product", "workflow").get(
        asc_id=bodies[0]["ciBuildRun"]["id"]
    )
    assert run.product.name == bodies[0]["ciProduct"]["attributes"]["name"]
    assert run.workflow.name == bodies[0]["ciWorkflow"]["attributes"]["name"]
    assert CiProduct.objects.count() == len({b["ciProduct"]["id"] for b in bodies})


def test_webhook_driven_completion_breaks_a_budget_and_alerts_once(simulator, asc_tokens, apple):
    client = fast_client(simulator, asc_tokens)
    sync(client)
    with Receiver() as receiver:
        add_budget("any bytes", max_bytes=0, notify=[receiver.url()])
        # Runs completing after the budget count, on Apple's clock: here the simulator's.
        SizeBudget.objects.update(created_at=simulator.dataset.now)
        bodies = apple.advance(hours=2)
        sync_queued(client)
        check_and_alert()
        check_and_alert()
        completed = set(runs_of(bodies, "BUILD_COMPLETED"))
        with_bytes = {
            r.asc_id
            for r in CiBuildRun.objects.filter(asc_id__in=completed)
            if r.artifacts.exists()
        }
        assert with_bytes
        assert set(BudgetViolation.objects.values_list("run__asc_id", flat=True)) == with_bytes
        assert len(receiver.received) == len(with_bytes)
        numbers = sorted(json.dumps(alert) for alert in receiver.received)
        assert len(set(numbers)) == len(numbers)
