"""The sync against answers a hostile or broken upstream could give: it stays safe and going."""

import json
from urllib.parse import urlsplit

import pytest
import requests

from artifacts_app.models import ProductSyncState, SyncRun
from artifacts_app.sync import sync
from tests.simulator_fixtures import start_simulator
from tests.sync_helpers import assert_mirror_matches, fast_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def elsewhere(asc_key):
    """Another host that accepts our key, to see whether the token ever reaches it."""
    server = start_simulator(asc_key, seed=3, runs=5)
    yield server
    server.stop()


class NextLinkRewriter(requests.Session):
    """A man in the middle: points the first run page's `links.next` at another host."""

    def __init__(self, foreign_base: str):
        super().__init__()
        self.foreign_base = foreign_base
        self.rewritten = 0

    def get(self, url, **kwargs):
        response = super().get(url, **kwargs)
        if self.rewritten or not urlsplit(url).path.endswith("/buildRuns") or not response.ok:
            return response
        document = response.json()
        next_url = (document.get("links") or {}).get("next")
        if next_url:
            parts = urlsplit(next_url)
            document["links"]["next"] = f"{self.foreign_base}{parts.path}?{parts.query}"
            response._content = json.dumps(document).encode()
            self.rewritten += 1
        return response


class NextLinkTests:
    def test_a_next_link_to_another_host_is_never_stored_nor_followed(
        self, simulator, asc_tokens, elsewhere, monkeypatch
    ):
        monkeypatch.setattr("artifacts_app.asc.client.PAGE_LIMIT", 5)
        session = NextLinkRewriter(elsewhere.base_url)
        client = fast_client(simulator, asc_tokens, session=session)

        run = sync(client=client, reserve=0)
        sync(client=fast_client(simulator, asc_tokens), reserve=0)  # the next pass, untampered

        assert session.rewritten == 1
        assert run.status == SyncRun.Status.FAILED
        assert "refusing to send the token" in run.error
        assert elsewhere.stats.api_requests == 0 and not elsewhere.stats.tokens
        cursors = ProductSyncState.objects.values_list("backfill_next_url", flat=True)
        assert not any(cursor.startswith(elsewhere.base_url) for cursor in cursors)

    def test_a_stored_cursor_to_another_host_is_dropped_and_the_backfill_restarts(
        self, simulator, asc_tokens, elsewhere, monkeypatch
    ):
        monkeypatch.setattr("artifacts_app.asc.client.PAGE_LIMIT", 5)
        client = fast_client(simulator, asc_tokens)
        sync(client=client, reserve=0)
        # A cursor kept by a version that stored links before checking them.
        ProductSyncState.objects.update(
            backfill_complete=False,
            backfill_next_url=f"{elsewhere.base_url}/v1/ciProducts/x/buildRuns?cursor=abc",
        )

        run = sync(client=client, reserve=0)

        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert elsewhere.stats.api_requests == 0 and not elsewhere.stats.tokens
        assert not ProductSyncState.objects.filter(backfill_complete=False).exists()
        assert_mirror_matches(simulator.dataset)
