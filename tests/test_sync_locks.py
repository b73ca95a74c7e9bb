"""Two syncs never work on the same product at once; a killed sync does not block the next."""

import socket
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from artifacts_app import locks
from artifacts_app.models import CiBuildRun, SyncLock, SyncRun
from artifacts_app.sync import SyncError, sync
from tests.sync_helpers import assert_mirror_matches, fast_client

pytestmark = pytest.mark.django_db


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


class LeaseTests:
    def test_a_sync_while_another_holds_the_lease_does_nothing_and_says_why(
        self, simulator, asc_tokens, monkeypatch
    ):
        monkeypatch.setattr(locks, "per_product_locks", lambda: False)  # SQLite's one lease
        with locks.lease(locks.WHOLE_ACCOUNT), pytest.raises(SyncError) as raised:
            sync(client=fast_client(simulator, asc_tokens), reserve=0)

        assert "another sync is already working" in str(raised.value)
        assert not SyncRun.objects.exists()
        assert simulator.stats.api_requests == 0

    def test_a_lease_left_by_a_killed_sync_is_taken_over_at_once(self, simulator, asc_tokens):
        SyncLock.objects.create(
            key=locks.WHOLE_ACCOUNT,
            owner=f"{socket.gethostname()}:{_dead_pid()}:abc",
            expires_at=timezone.now() + timedelta(minutes=10),
        )

        run = sync(client=fast_client(simulator, asc_tokens), reserve=0)

        assert run.status == SyncRun.Status.SUCCEEDED

    def test_a_live_lease_of_another_machine_is_respected_until_it_expires(self):
        lock = SyncLock.objects.create(
            key="product-1",
            owner="other-host:123:abc",
            expires_at=timezone.now() + timedelta(minutes=10),
        )
        with pytest.raises(locks.LockBusy):
            locks.Lease("product-1").acquire()

        lock.expires_at = timezone.now() - timedelta(seconds=1)
        lock.save()
        with locks.lease("product-1") as held:
            assert SyncLock.objects.get(key="product-1").owner == held.owner
        assert SyncLock.objects.get(key="product-1").owner == ""

    def test_a_lease_taken_over_is_noticed_by_its_old_holder(self):
        held = locks.Lease("product-2")
        held.acquire()
        SyncLock.objects.filter(key="product-2").update(owner="other-host:1:x")

        with pytest.raises(locks.LockLost):
            held.renew()

    def test_an_expired_lease_renewed_by_its_holder_meanwhile_is_not_taken_over(self, monkeypatch):
        holder = locks.Lease("product-3", ttl=timedelta(seconds=-1))  # expired at once
        holder.acquire()
        holder.ttl = timedelta(minutes=15)
        read = SyncLock.objects.get

        def read_then_holder_renews(*args, **kwargs):
            current = read(*args, **kwargs)
            holder.renew()  # the slow holder wakes up between our read and our takeover
            return current

        monkeypatch.setattr(SyncLock.objects, "get", read_then_holder_renews)
        with pytest.raises(locks.LockBusy):
            locks.Lease("product-3").acquire()
        monkeypatch.undo()

        assert SyncLock.objects.get(key="product-3").owner == holder.owner
        holder.renew()  # still its own

    def test_a_long_sync_keeps_its_account_lease_so_a_later_sync_waits(
        self, simulator, asc_tokens, monkeypatch
    ):
        monkeypatch.setattr(locks, "per_product_locks", lambda: False)  # SQLite's one lease
        # A lease is renewed once a minute at most: here every run is a minute's work.
        monkeypatch.setattr("artifacts_app.sync.walk.RENEW_EVERY", 0.0)
        later_sync = []

        def progress(event):
            if not later_sync and event.runs == 0:
                # As if the pass had been working for longer than the lease's lifetime.
                SyncLock.objects.filter(key=locks.WHOLE_ACCOUNT).update(
                    expires_at=timezone.now() - timedelta(seconds=1)
                )
                later_sync.append(None)
            elif later_sync == [None] and event.runs > 0:
                try:
                    locks.Lease(locks.WHOLE_ACCOUNT).acquire()
                    later_sync[0] = "started alongside"
                except locks.LockBusy:
                    later_sync[0] = "refused"

        run = sync(client=fast_client(simulator, asc_tokens), reserve=0, progress=progress)

        assert run.status == SyncRun.Status.SUCCEEDED
        assert later_sync == ["refused"]

    def test_with_per_product_leases_a_product_being_synced_elsewhere_is_skipped(
        self, simulator, asc_tokens, monkeypatch
    ):
        monkeypatch.setattr(locks, "per_product_locks", lambda: True)
        busy = simulator.dataset.products[0]
        SyncLock.objects.create(
            key=busy.id,
            owner="other-host:123:abc",
            expires_at=timezone.now() + timedelta(minutes=10),
        )

        run = sync(client=fast_client(simulator, asc_tokens), reserve=0)

        assert run.status == SyncRun.Status.SUCCEEDED
        assert "skipped 1 product" in run.error
        assert not CiBuildRun.objects.filter(product__asc_id=busy.id).exists()
        others = [p.id for p in simulator.dataset.products[1:]]
        assert CiBuildRun.objects.filter(product__asc_id__in=others).exists()


@pytest.mark.django_db(transaction=True)
class ConcurrentSyncTests:
    def test_two_syncs_started_together_leave_one_exact_copy(self, simulator, asc_tokens):
        from django.db import connection

        barrier = threading.Barrier(2)
        outcomes = []

        def worker():
            barrier.wait()
            try:
                outcomes.append(sync(client=fast_client(simulator, asc_tokens), reserve=0))
            except SyncError as exc:
                outcomes.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert len(outcomes) == 2
        finished = [o for o in outcomes if isinstance(o, SyncRun)]
        assert finished and all(o.status == SyncRun.Status.SUCCEEDED for o in finished)
        busy = [o for o in outcomes if isinstance(o, SyncError)]
        assert all("another sync is already working" in str(o) for o in busy)
        # Whatever one pass skipped, the other synced: together, one exact copy.
        assert_mirror_matches(simulator.dataset)
