"""Alerts for budget violations, delivered through Apprise (Slack, Teams, e-mail, JSON, ...).

Each violation goes to each of its budget's URLs once. A worker claims a violation with a
conditional UPDATE, so two workers never send the same one; URLs that took the alert are
remembered (by fingerprint) and never sent to again; the others are retried with
exponential backoff until `MAX_ATTEMPTS`. Errors are kept on the violation with the URL
masked: an Apprise URL holds its service's token.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import apprise
from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from ..encryption import DecryptionError
from ..models import FileType, enum_label
from ..units import format_bytes
from .models import BudgetViolation

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
CLAIM_FOR = timedelta(minutes=5)
SEND_TIMEOUT = 10  # seconds per service: a hung target must not hold up the sync loop


def deliver_due() -> int:
    """Send every alert that is due; returns how many violations were fully notified."""
    now = timezone.now()
    due = BudgetViolation.objects.filter(notified_at=None, next_attempt_at__lte=now).filter(
        Q(claimed_until=None) | Q(claimed_until__lt=now)
    )
    notified = 0
    for pk in list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:100]):
        if deliver(pk):
            notified += 1
    return notified


def deliver(pk: int) -> bool:
    """Claim one violation and send it to the URLs that have not had it; True when all have."""
    now = timezone.now()
    claimed = (
        BudgetViolation.objects.filter(pk=pk, notified_at=None)
        .filter(Q(claimed_until=None) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM_FOR)
    )
    if not claimed:
        return False  # another worker has it
    violation = BudgetViolation.objects.select_related(
        "budget", "run__product", "run__workflow"
    ).get(pk=pk)
    errors = []
    try:
        urls = violation.budget.notify_urls if violation.budget else []
    except DecryptionError as exc:
        urls, errors = [], [str(exc)]
    title, body = message(violation)
    for url in urls:
        if fingerprint(url) in violation.delivered_to:
            continue
        error = send(url, title, body)
        if error:
            errors.append(error)
        else:
            violation.delivered_to.append(fingerprint(url))
    violation.delivery_attempts += 1
    violation.claimed_until = None
    if not errors:
        violation.notified_at = timezone.now()
        violation.delivery_error = ""
        violation.next_attempt_at = None
    else:
        violation.delivery_error = "; ".join(errors)[:2000]
        if violation.delivery_attempts >= MAX_ATTEMPTS:
            violation.delivery_error = f"gave up after {MAX_ATTEMPTS} attempts: " + (
                violation.delivery_error
            )
            violation.next_attempt_at = None
        else:
            violation.next_attempt_at = timezone.now() + FIRST_RETRY * 2 ** (
                violation.delivery_attempts - 1
            )
    violation.save(
        update_fields=[
            "delivered_to",
            "delivery_attempts",
            "claimed_until",
            "notified_at",
            "delivery_error",
            "next_attempt_at",
        ]
    )
    return violation.notified_at is not None


def send(url: str, title: str, body: str) -> str:
    """Send through Apprise; an empty string on success, else an error that hides secrets."""
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return f"{mask(url)}: not an Apprise URL this version understands"
    result = notifier.notify(body=body, title=title, timeout=SEND_TIMEOUT)
    if result:
        return ""
    problems = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR")]
    return f"{mask(url)}: {_scrub(problems[-1] if problems else 'delivery failed', url)}"


def message(violation: BudgetViolation) -> tuple[str, str]:
    run = violation.run
    workflow = run.workflow.name if run.workflow else "no workflow"
    file_type = enum_label(FileType, violation.file_type) if violation.file_type else "all types"
    title = f"Size budget {violation.budget_name} broken by {run.product.name} #{run.number}"
    lines = [
        f"Product: {run.product.name}",
        f"Workflow: {workflow}",
        f"Run: #{run.number}",
        f"File type: {file_type}",
        f"Size: {format_bytes(violation.bytes)} ({violation.bytes} bytes)",
        f"Limit: {format_bytes(violation.limit_bytes)} ({violation.limit_bytes} bytes)",
    ]
    if violation.baseline_bytes is not None:
        lines.append(
            f"Baseline: {format_bytes(violation.baseline_bytes)} ({violation.baseline_bytes} bytes)"
        )
    if settings.SITE_URL:
        lines.append(settings.SITE_URL + reverse("run", args=[run.asc_id]))
    return title, "\n".join(lines)


def mask(url: str) -> str:
    """Service and host only, as Apprise prints them in privacy mode; paths (which hold the
    tokens of webhook-style services) and queries are elided."""
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return url.partition("://")[0] + "://…"
    scheme, _, rest = plugin.url(privacy=True).partition("?")[0].partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host}" + ("/…" if path.strip("/") else "")


def fingerprint(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def _scrub(text: str, url: str) -> str:
    """Drop any long piece of the URL (a token, a password) that a log line might repeat."""
    for piece in re.split(r"[/:@?&=#]+", url.partition("://")[2]):
        if len(piece) >= 6:
            text = text.replace(piece, "…")
    return " ".join(text.split())[:300]
