"""What `/metrics` says about size budgets: violations recorded, and the state of their alerts.

One aggregate query over the violations at each scrape. An alert is a violation of a budget
that had notification URLs: `pending` until its first attempt, `retrying` after a failed
one (with backoff), `sent` once every URL took it, `failed` when the attempts ran out.
"""

from __future__ import annotations

from django.db.models import Count, Q
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .models import BudgetViolation

ALERT_STATES = {
    "pending": Q(notified_at=None, next_attempt_at__isnull=False, delivery_error=""),
    "retrying": Q(notified_at=None, next_attempt_at__isnull=False) & ~Q(delivery_error=""),
    "sent": Q(notified_at__isnull=False),
    "failed": Q(notified_at=None, next_attempt_at=None, delivery_attempts__gt=0),
}


def budget_metrics(prefix: str):
    figures = BudgetViolation.objects.aggregate(
        total=Count("pk"),
        open=Count("pk", filter=Q(acknowledged_at=None)),
        **{state: Count("pk", filter=condition) for state, condition in ALERT_STATES.items()},
    )
    yield CounterMetricFamily(
        f"{prefix}_budget_violations",
        "Build runs found over a size budget (each budget and run once).",
        value=figures["total"],
    )
    yield GaugeMetricFamily(
        f"{prefix}_budget_violations_open",
        "Size budget violations nobody has acknowledged yet.",
        value=figures["open"],
    )
    alerts = GaugeMetricFamily(
        f"{prefix}_budget_alerts",
        "Alerts of size budget violations, by state (failed: gave up after every retry).",
        labels=["state"],
    )
    for state in ALERT_STATES:
        alerts.add_metric([state], figures[state])
    yield alerts
