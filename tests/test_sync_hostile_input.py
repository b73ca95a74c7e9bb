"""The sync against answers a hostile or broken upstream could give: it stays safe and going."""

import dataclasses
import json
from urllib.parse import urlsplit

import pytest
import requests

from artifacts_app.models import CiArtifact, CiBuildRun, ProductSyncState, SyncRun
from artifacts_app.sync import sync
from tests.simulator_fixtures import start_simulator
from tests.sync_helpers import (
    assert_mirror_matches,
    fast_client,
    stored_artifacts,
    upstream_artifacts,
)

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


@pytest.fixture
def settled(asc_key):
    """A small account whose runs have all finished."""
    server = start_simulator(asc_key, seed=11, runs=30, live_runs=0)
    yield server
    server.stop()


def _finished_run(dataset, index=0):
    return dataset.products[0].runs[index]


class FittingTests:
    def test_a_long_branch_name_and_a_nul_in_a_commit_message_stay_unchanged_on_later_passes(
        self, settled, asc_tokens
    ):
        run = _finished_run(settled.dataset)
        run.source_ref = dataclasses.replace(run.source_ref, id="long-ref", name="b" * 316)
        run.message = "fix\x00crash \udc80"
        client = fast_client(settled, asc_tokens)

        first = sync(client=client, reserve=0)
        second = sync(client=client, reserve=0)

        assert (first.status, second.status) == (SyncRun.Status.SUCCEEDED,) * 2, second.error
        assert second.updated == 0
        row = CiBuildRun.objects.get(asc_id=run.id)
        assert row.source_ref_name == "b" * 255
        assert row.source_commit_message == "fix\ufffdcrash \ufffd"

    def test_a_lone_surrogate_in_a_file_name_is_stored_as_a_replacement_character(
        self, settled, asc_tokens
    ):
        artifact = _finished_run(settled.dataset).actions[0].artifacts[0]
        artifact.file_name = "build-\udc80.zip"

        run = sync(client=fast_client(settled, asc_tokens), reserve=0)

        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert CiArtifact.objects.get(asc_id=artifact.id).file_name == "build-\ufffd.zip"


class IdentifierTests:
    def test_ids_that_cannot_be_stored_are_skipped_and_reported_and_the_rest_is_stored(
        self, settled, asc_tokens
    ):
        dataset = settled.dataset
        artifacts = _finished_run(dataset).actions[0].artifacts
        artifacts[0].id = "a" * 65
        artifacts[-1].id = "with/a/slash"
        odd_run = _finished_run(dataset, 1)
        odd_run.id = "run-\udc80"

        run = sync(client=fast_client(settled, asc_tokens), reserve=0)

        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert "skipped 2 record(s) whose id cannot be stored" in run.error
        stored = {row[0] for row in stored_artifacts()}
        assert "with/a/slash" in stored
        expected = {
            row[0]
            for row in upstream_artifacts(dataset)
            if row[0] != "a" * 65 and row[5] != odd_run.id
        }
        assert stored == expected
        assert CiBuildRun.objects.count() == len(dataset.runs) - 1
