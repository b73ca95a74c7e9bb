"""Leases that keep two sync workers off the same product.

A lease is a row in `SyncLock`, taken with one conditional UPDATE (compare-and-swap on the
current owner and expiry), so it holds across processes and machines that share a database. A holder
renews it as it works; a lease whose holder stopped renewing (expired), or whose holder is a
dead process on this machine (a killed sync), may be taken over at once.

On PostgreSQL each product has its own lease, so several workers can split an account. SQLite
allows one writer at a time anyway, so there every sync takes its account's single lease "*".
Each account has its own leases (`sync_key`, `archiver_key`): the account `default` keeps the
keys it had before accounts, the others' keys start with their name.
"""

from __future__ import annotations

import os
import socket
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from .models import SyncLock

DEFAULT_TTL = timedelta(minutes=15)
WHOLE_ACCOUNT = "*"
ARCHIVER = "archive"  # one archive run at a time (command or admin action), whatever it selects
DEFAULT_ACCOUNT = "default"


def sync_key(account_name: str, product_id: str = WHOLE_ACCOUNT) -> str:
    """The lease on an account's product (or, with no product, on the whole account)."""
    if account_name == DEFAULT_ACCOUNT:
        return product_id
    return f"{account_name}:{product_id}"


def archiver_key(account_name: str) -> str:
    """One archive run at a time per account."""
    return ARCHIVER if account_name == DEFAULT_ACCOUNT else f"{ARCHIVER}@{account_name}"


class LockBusy(Exception):
    """Another sync holds the lease."""


class LockLost(Exception):
    """The lease expired and another sync took it over while this one was working."""


def per_product_locks() -> bool:
    """Whether this database lets several syncs write at once (one lease per product)."""
    return connection.vendor != "sqlite"


def process_id() -> str:
    """This process as `host:pid`, the form `holder_is_dead()` can check."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}"


def _owner_id() -> str:
    return f"{process_id()}:{uuid.uuid4().hex[:12]}"


def holder_is_dead(owner: str) -> bool:
    """True when the owner is a process on this machine that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:120] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # another lease of this very process (a thread): alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Lease:
    def __init__(self, key: str, ttl: timedelta = DEFAULT_TTL):
        self.key = key
        self.ttl = ttl
        self.owner = _owner_id()
        self.held = False

    def acquire(self) -> None:
        SyncLock.objects.get_or_create(key=self.key)  # retries itself on a concurrent create
        now = timezone.now()
        current = SyncLock.objects.get(key=self.key)
        free = (
            not current.owner
            or current.expires_at is None
            or current.expires_at <= now
            or holder_is_dead(current.owner)
        )
        if not free:
            raise LockBusy(self._busy_message(current))
        # Compare-and-swap on owner and expiry: a holder that renewed since we looked keeps it.
        taken = SyncLock.objects.filter(
            key=self.key, owner=current.owner, expires_at=current.expires_at
        ).update(owner=self.owner, acquired_at=now, expires_at=now + self.ttl)
        if taken != 1:
            raise LockBusy(self._busy_message(SyncLock.objects.get(key=self.key)))
        self.held = True

    def renew(self) -> None:
        renewed = SyncLock.objects.filter(key=self.key, owner=self.owner).update(
            expires_at=timezone.now() + self.ttl
        )
        if renewed != 1:
            self.held = False
            raise LockLost(f"lost the sync lease on {self.key}: another sync took it over")

    def release(self) -> None:
        if self.held:
            SyncLock.objects.filter(key=self.key, owner=self.owner).update(
                owner="", expires_at=None
            )
            self.held = False

    def _busy_message(self, current: SyncLock) -> str:
        since = f" since {current.acquired_at:%Y-%m-%d %H:%M} UTC" if current.acquired_at else ""
        if self.key == ARCHIVER or self.key.startswith(f"{ARCHIVER}@"):
            account = self.key.partition("@")[2]
            of = f" on account {account}" if account else ""
            return f"another archive run is already working{of}{since}; try again when it is done"
        account, _, product = self.key.rpartition(":")
        if product == WHOLE_ACCOUNT:
            what = f"account {account}" if account else "the account"
        else:
            what = f"product {product}" + (f" of account {account}" if account else "")
        return f"another sync is already working on {what}{since}"


@contextmanager
def lease(key: str, ttl: timedelta = DEFAULT_TTL):
    """Hold the lease on `key` for the block; raises LockBusy when another sync holds it."""
    held = Lease(key, ttl)
    held.acquire()
    try:
        yield held
    finally:
        held.release()
