"""What /healthz reports: the state of each account's sync, from the SyncRun history."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .connection import has_key
from .models import Account, SyncRun

# The worst account's status is the install's.
SEVERITY = {"ok": 0, "stale": 1, "failing": 2}


def overall_errors_for(user) -> bool:
    """Whether `user` may read the error of the latest pass overall: it may be any account's,
    so only a logged-in user who sees every account may (each account's entry carries its
    own error for those granted it)."""
    if not (user and user.is_authenticated):
        return False
    return Account.objects.count() == Account.objects.visible_to(user).count()


def sync_health(now=None, with_errors=False, user=None):
    """`ok` after a recent successful pass of every account, `stale` when an account's last
    success is too old (or there never was one), `failing` when an account's latest finished
    pass failed.

    Anyone gets the overall status, the latest passes and how many accounts are in each
    state; a logged-in `user` also gets the state of each account granted to them, by name
    (names say which teams the install serves). Error texts are our own one-line messages
    and carry no key, token or URL, but they may name a server path or a host: the
    overall passes carry them only `with_errors`, each granted account's entry always.
    """
    now = now or timezone.now()
    finished = SyncRun.objects.exclude(status=SyncRun.Status.RUNNING).filter(dry_run=False)
    accounts = _watched_accounts(finished)
    states = {account.pk: _state(finished.filter(account=account), now) for account in accounts}
    latest, last_success = _runs(finished)
    if states:
        status = max((state["status"] for state in states.values()), key=SEVERITY.get)
    else:
        status = _status(latest, last_success, now)
    health = {
        "status": status,
        "last_sync": _describe(latest, with_errors),
        "last_success": _describe(last_success, with_errors),
        "accounts": {
            name: sum(1 for state in states.values() if state["status"] == name)
            for name in SEVERITY
        },
    }
    if user is not None and user.is_authenticated:
        visible = set(Account.objects.visible_to(user).values_list("pk", flat=True))
        health["by_account"] = [
            {
                "name": account.name,
                "status": states[account.pk]["status"],
                "last_sync": _describe(states[account.pk]["latest"], True),
                "last_success": _describe(states[account.pk]["last_success"], True),
            }
            for account in accounts
            if account.pk in visible
        ]
    return health


def _watched_accounts(finished) -> list[Account]:
    """The accounts a sync is expected for: those with a key, and those that synced before."""
    synced = set(finished.values_list("account_id", flat=True).distinct())
    return [a for a in Account.objects.all() if a.pk in synced or has_key(a)]


def _runs(finished):
    latest = finished.first()
    last_success = finished.filter(
        status__in=[SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL]
    ).first()
    return latest, last_success


def _state(finished, now) -> dict:
    latest, last_success = _runs(finished)
    return {
        "status": _status(latest, last_success, now),
        "latest": latest,
        "last_success": last_success,
    }


def _status(latest, last_success, now) -> str:
    stale_after = timedelta(minutes=settings.SYNC_STALE_AFTER_MINUTES)
    if latest is not None and latest.status == SyncRun.Status.FAILED:
        return "failing"
    if last_success is None or now - last_success.finished_at > stale_after:
        return "stale"
    return "ok"


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
