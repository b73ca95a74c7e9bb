"""What /healthz reports: the state of the sync, from the SyncRun history."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import SyncRun


def sync_health(now=None, with_errors=False):
    """`ok` after a recent successful pass, `stale` when the last success is too old
    (or there never was one), `failing` when the latest finished pass failed.

    Error texts are our own one-line messages and carry no key, token or URL, but they may
    name a server path or a host: only `with_errors` (a logged-in user) gets them.
    """
    now = now or timezone.now()
    finished = SyncRun.objects.exclude(status=SyncRun.Status.RUNNING).filter(dry_run=False)
    latest = finished.first()
    last_success = finished.filter(
        status__in=[SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL]
    ).first()
    stale_after = timedelta(minutes=settings.SYNC_STALE_AFTER_MINUTES)

    if latest is not None and latest.status == SyncRun.Status.FAILED:
        status = "failing"
    elif last_success is None or now - last_success.finished_at > stale_after:
        status = "stale"
    else:
        status = "ok"
    return {
        "status": status,
        "last_sync": _describe(latest, with_errors),
        "last_success": _describe(last_success, with_errors),
    }


def _describe(run, with_errors):
    if run is None:
        return None
    described = {
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "status": run.status,
        "created": run.created,
        "updated": run.updated,
        "api_calls": run.api_calls,
        "rate_limit_remaining": run.rate_limit_remaining,
    }
    if with_errors:
        described["error"] = run.error
    return described
