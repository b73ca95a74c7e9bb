"""The client against the running simulator, and against Apple's own example documents."""

import hashlib
import io
import json
import logging
import socket
import threading
import time
import traceback

import pytest
import requests

from artifacts_app.asc import (
    AscClient,
    AscError,
    AuthenticationError,
    ConfigurationError,
    ExpiredDownloadError,
    NotFoundError,
    ParameterError,
    RateLimitError,
    ServerError,
    TokenProvider,
    TransportError,
)
from artifacts_app.asc.budget import CallBudget
from artifacts_app.asc.errors import error_from_response
from artifacts_app.asc.resources import (
    build_action_from_json,
    build_run_from_json,
    index_included,
    product_from_json,
)
from artifacts_app.asc.simulator import served_sha256
from tests.apple_spec import example
from tests.simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID, make_key_pair, start_simulator


class Sleeps(list):
    """A ``sleep`` that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(server, tokens, **kwargs) -> AscClient:
    kwargs.setdefault("sleep", Sleeps())
    kwargs.setdefault("backoff", 0.001)
    return AscClient(server.base_url, tokens, timeout=(2, 5), **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PaginationTests:
    @pytest.fixture
    def big_simulator(self, asc_key):
        server = start_simulator(asc_key, seed=4, runs=1500)
        yield server
        server.stop()

    def test_walks_every_run_over_many_pages_newest_first(self, big_simulator, asc_tokens):
        client = make_client(big_simulator, asc_tokens)
        product = big_simulator.dataset.products[0]
        expected = len(big_simulator.dataset.visible_runs(product))
        pages = list(client.build_run_pages(product.id))
        numbers = [run.number for page in pages for run in page.items]
        assert len(pages) == -(-expected // 200) > 3
        assert numbers == list(range(expected, 0, -1))
        assert pages[-1].next_url is None
        assert client.calls == len(pages)

    def test_runs_carry_workflow_and_branch_or_tag(self, big_simulator, asc_tokens):
        client = make_client(big_simulator, asc_tokens)
        product = big_simulator.dataset.products[0]
        runs = list(client.build_runs(product.id))
        workflow_ids = {w.id for w in product.workflows}
        assert all(run.workflow_id in workflow_ids for run in runs)
        assert {run.source_ref_kind for run in runs} == {"BRANCH", "TAG"}
        assert "v1.2.0" in {run.source_ref_name for run in runs}
        assert any(
            run.destination_branch_name == "main" for run in runs if run.is_pull_request_build
        )

    def test_resumes_from_a_stored_next_link(self, big_simulator, asc_tokens):
        client = make_client(big_simulator, asc_tokens)
        product = big_simulator.dataset.products[0]
        first_page = next(client.build_run_pages(product.id))
        resumed = list(client.build_run_pages(product.id, start_url=first_page.next_url))
        assert resumed[0].items[0].number == first_page.items[-1].number - 1

    def test_runs_created_mid_walk_do_not_shift_pages(self, big_simulator, asc_tokens):
        client = make_client(big_simulator, asc_tokens)
        product = big_simulator.dataset.products[0]
        pages = client.build_run_pages(product.id)
        seen = [run.number for run in next(pages).items]
        big_simulator.dataset.advance(hours=12)
        for page in pages:
            seen += [run.number for run in page.items]
        assert len(seen) == len(set(seen))
        assert min(seen) == 1

    def test_stops_when_next_repeats(self):
        session = ScriptedSession(
            [
                {
                    "data": [{"type": "ciProducts", "id": "a"}],
                    "links": {
                        "self": "http://sim/v1/ciProducts",
                        "next": "http://sim/v1/ciProducts?c=1",
                    },
                },
                {
                    "data": [{"type": "ciProducts", "id": "b"}],
                    "links": {
                        "self": "http://sim/v1/ciProducts?c=1",
                        "next": "http://sim/v1/ciProducts?c=1",
                    },
                },
            ]
        )
        client = AscClient("http://sim", ScriptedTokens(), session=session)
        assert [p.id for p in client.products()] == ["a", "b"]
        assert client.calls == 2

    def test_refuses_a_next_link_on_another_host(self):
        session = ScriptedSession(
            [
                {
                    "data": [],
                    "links": {
                        "self": "http://sim/v1/ciProducts",
                        "next": "http://elsewhere/v1/ciProducts?c=1",
                    },
                },
            ]
        )
        client = AscClient("http://sim", ScriptedTokens(), session=session)
        with pytest.raises(AscError, match="refusing to send the token"):
            list(client.products())


class ScriptedTokens:
    def token(self) -> str:
        return "token"

    def invalidate(self) -> None:
        pass


class ScriptedSession(requests.Session):
    """Answers GETs with the given documents in order."""

    def __init__(self, documents):
        super().__init__()
        self.documents = list(documents)

    def get(self, url, **kwargs):
        response = requests.Response()
        response.status_code = 200
        response.url = url
        response._content = json.dumps(self.documents.pop(0)).encode()
        return response


class StatusSession(requests.Session):
    """Answers every GET with ``status`` and ``headers`` until ``failures`` run out, then 200."""

    def __init__(self, status, headers, failures=100):
        super().__init__()
        self.status, self.headers_sent, self.failures = status, headers, failures

    def get(self, url, **kwargs):
        response = requests.Response()
        response.url = url
        if self.failures:
            self.failures -= 1
            response.status_code = 503 if self.status is None else self.status
            response.headers.update(self.headers_sent)
            response.raw = io.BytesIO(b"")
        else:
            response.status_code = 200
            response._content = json.dumps({"data": []}).encode()
        return response


class RetryAfterTests:
    def test_a_503_with_retry_after_waits_as_told(self):
        sleeps = Sleeps()
        session = StatusSession(503, {"Retry-After": "7"}, failures=1)
        client = AscClient("http://sim", ScriptedTokens(), session=session, sleep=sleeps)
        assert list(client.products()) == []
        assert sleeps == [7.0]

    @pytest.mark.parametrize("status", [429, 503])
    def test_a_download_told_to_come_back_in_an_hour_fails_now(self, status):
        sleeps = Sleeps()
        session = StatusSession(status, {"Retry-After": "3600"})
        client = AscClient("http://sim", ScriptedTokens(), download_session=session, sleep=sleeps)
        with pytest.raises(AscError):
            client.open_download("http://cdn.example/a.zip?sig=s")
        assert sum(sleeps) <= 60


class ResourceTests:
    def test_products_workflows_actions_and_artifacts(self, simulator, asc_client):
        dataset = simulator.dataset
        product = dataset.products[0]
        assert [p.name for p in asc_client.products()] == [p.name for p in dataset.products]
        assert asc_client.product(product.id).product_type == "APP"
        workflows = list(asc_client.workflows(product.id))
        assert [w.name for w in workflows] == [w.name for w in product.workflows]
        assert {w.product_id for w in workflows} == {product.id}
        run = next(
            r for r in dataset.visible_runs(product) if r.progress(dataset.now_ts) == "COMPLETE"
        )
        assert asc_client.build_run(run.id).product_id == product.id
        actions = list(asc_client.actions(run.id))
        assert [a.action_type for a in actions] == [a.action_type for a in run.actions]
        artifacts = list(asc_client.artifacts(actions[0].id))
        assert [(a.file_name, a.file_size) for a in artifacts] == [
            (a.file_name, a.file_size) for a in run.actions[0].artifacts
        ]
        assert all(a.build_action_id == actions[0].id for a in artifacts)

    def test_pending_run_has_nulls_and_no_artifacts_yet(self, simulator, asc_client):
        dataset = simulator.dataset
        pending = next(r for r in dataset.runs.values() if r.progress(dataset.now_ts) == "PENDING")
        run = asc_client.build_run(pending.id)
        assert (run.execution_progress, run.completion_status, run.finished_date) == (
            "PENDING",
            None,
            None,
        )
        action = next(asc_client.actions(pending.id))
        assert list(asc_client.artifacts(action.id)) == []

    def test_an_id_cannot_smuggle_a_query_or_another_path_into_the_request(self, asc_client):
        for hostile in ["x?limit=1", "../ciProducts", "a/b"]:
            with pytest.raises(NotFoundError):
                asc_client.artifact(hostile)

    def test_unknown_id_is_not_found_with_a_useful_message(self, asc_client):
        with pytest.raises(NotFoundError) as caught:
            asc_client.build_run("no-such-run")
        assert caught.value.status == 404
        assert str(caught.value).startswith("404 NOT_FOUND: ")


class FaultRecoveryTests:
    @pytest.mark.parametrize(
        "kind", ["401", "429", "429-retry-after", "500", "503", "reset", "truncate", "invalid-json"]
    )
    def test_recovers_from_each_fault_kind(self, simulator, asc_client, kind):
        simulator.faults.inject(kind, count=1 if kind == "401" else 2)
        products = list(asc_client.products())
        assert len(products) == len(simulator.dataset.products)
        assert simulator.stats.faults[kind] >= 1
        assert asc_client.calls == (2 if kind == "401" else 3)

    def test_backs_off_exponentially_with_jitter(self, simulator, asc_tokens):
        sleeps = Sleeps()
        client = make_client(simulator, asc_tokens, sleep=sleeps, backoff=1.0)
        simulator.faults.inject("503", count=3)
        list(client.products())
        assert len(sleeps) == 3
        assert 0.5 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 2 and 2 <= sleeps[2] <= 4

    def test_honours_retry_after(self, simulator, asc_tokens):
        sleeps = Sleeps()
        client = make_client(simulator, asc_tokens, sleep=sleeps)
        simulator.faults.retry_after = 7
        simulator.faults.inject("429-retry-after")
        list(client.products())
        assert sleeps == [7.0]

    def test_a_retry_after_one_thread_got_pauses_the_other_threads_too(self, simulator, asc_tokens):
        sleeps = Sleeps()
        client = make_client(simulator, asc_tokens, sleep=sleeps)
        simulator.faults.retry_after = 30
        simulator.faults.inject("429-retry-after")
        first = threading.Thread(target=lambda: list(client.products()))
        first.start()
        first.join()
        second = threading.Thread(target=lambda: list(client.products()))
        second.start()
        second.join()

        # The second thread, which got no 429 itself, waits out the rest of the pause.
        assert sleeps[0] == 30.0 and 25 < sleeps[1] <= 30
        assert client.calls == 3

    def test_several_threads_share_the_budget_and_stop_above_the_reserve(
        self, simulator, asc_tokens
    ):
        simulator.config.budget = 40
        client = make_client(simulator, asc_tokens)
        client.budget = CallBudget(reserve=10, refuse=lambda left: RuntimeError(left))
        refused = []

        def call_until_refused():
            while True:
                try:
                    list(client.products())
                except RuntimeError:
                    refused.append(True)
                    return

        workers = [threading.Thread(target=call_until_refused) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

        assert len(refused) == 4
        assert simulator.app.budget_remaining >= 10  # never a call into the reserve
        assert simulator.app.budget_remaining <= 10 + 4  # but close to it

    def test_gives_up_after_bounded_attempts_with_a_typed_error(self, simulator, asc_client):
        simulator.faults.inject("500", count=10)
        with pytest.raises(ServerError, match="500"):
            list(asc_client.products())
        assert asc_client.calls == 5

    def test_repeated_resets_become_a_transport_error(self, simulator, asc_client):
        simulator.faults.inject("reset", count=10)
        with pytest.raises(TransportError, match="cannot reach 127.0.0.1"):
            list(asc_client.products())

    def test_spent_hourly_budget_raises_at_once_and_is_exposed(self, simulator, asc_client):
        simulator.config.budget = 2
        list(asc_client.products())
        assert (asc_client.rate_limit.limit, asc_client.rate_limit.remaining) == (2, 1)
        list(asc_client.products())
        with pytest.raises(RateLimitError) as caught:
            list(asc_client.products())
        assert "hourly budget per key" in str(caught.value)
        assert asc_client.rate_limit.remaining == 0
        assert asc_client.calls == 3  # no pointless retries against a spent budget

    def test_read_timeout_is_retried(self, simulator, asc_tokens):
        client = AscClient(
            simulator.base_url, asc_tokens, timeout=(1, 0.2), backoff=0.001, sleep=Sleeps()
        )
        simulator.faults.latency = 30  # far past the read timeout, however busy the machine
        with pytest.raises(TransportError, match="read timed out"):
            list(client.products())
        assert client.calls == 5  # retried, then given up
        simulator.faults.latency = 0
        client.timeout = (5, 30)  # the recovery must not depend on a fast machine either
        assert len(list(client.products())) == len(simulator.dataset.products)


class AuthenticationTests:
    def test_token_is_reused_across_many_calls(self, simulator, asc_client):
        product = simulator.dataset.products[0]
        list(asc_client.products())
        for run in list(asc_client.build_runs(product.id))[:5]:
            list(asc_client.actions(run.id))
        assert asc_client.calls >= 7
        assert len(simulator.stats.tokens) == 1
        assert asc_client.tokens.issued == 1

    def test_token_is_renewed_as_time_passes(self, simulator, asc_key):
        clock = FakeClock(time.time())
        simulator.config.clock = clock
        tokens = TokenProvider(SIM_KEY_ID, asc_key.private_pem, SIM_ISSUER_ID, clock=clock)
        client = make_client(simulator, tokens)
        list(client.products())
        clock.now += 10 * 60
        list(client.products())
        assert len(simulator.stats.tokens) == 1
        clock.now += 10 * 60  # past the first token's expiry
        list(client.products())
        assert len(simulator.stats.tokens) == 2
        assert client.calls == 3  # renewed before it expired: no 401 on the way

    def test_a_stale_token_is_replaced_once_after_a_401(self, simulator, asc_key):
        times = iter([time.time() - 3600])  # the first token is signed by a sleepy clock

        def clock():
            return next(times, time.time())

        tokens = TokenProvider(SIM_KEY_ID, asc_key.private_pem, SIM_ISSUER_ID, clock=clock)
        client = make_client(simulator, tokens)
        assert len(list(client.products())) == len(simulator.dataset.products)
        assert client.calls == 2
        assert simulator.stats.by_status[401] == 1

    def test_wrong_key_is_a_clear_authentication_error(self, simulator):
        tokens = TokenProvider(SIM_KEY_ID, make_key_pair().private_pem, SIM_ISSUER_ID)
        client = make_client(simulator, tokens)
        with pytest.raises(AuthenticationError) as caught:
            list(client.products())
        message = str(caught.value)
        assert message.startswith("401 NOT_AUTHORIZED: ")
        assert "signature" in message
        assert message.endswith("check ASC_KEY_ID/ASC_ISSUER_ID and that the clock is right")
        assert tokens.token() not in message
        assert client.calls == 2  # one fresh token, then give up

    def test_individual_key_works_and_a_team_token_is_refused(self, asc_key):
        server = start_simulator(asc_key, seed=2, runs=10, issuer_id=None, individual_key=True)
        try:
            individual = TokenProvider(SIM_KEY_ID, asc_key.private_pem, "")
            assert len(list(make_client(server, individual).products())) == 3
            team = TokenProvider(SIM_KEY_ID, asc_key.private_pem, SIM_ISSUER_ID)
            with pytest.raises(AuthenticationError, match="team-key token"):
                list(make_client(server, team).products())
        finally:
            server.stop()

    def test_team_key_works(self, simulator, asc_client):
        assert len(list(asc_client.products())) == 3


class FakeClock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


class TransportTests:
    def test_unreachable_host_is_a_clear_error(self, asc_tokens):
        sleeps = Sleeps()
        port = free_port()
        client = AscClient(
            f"http://127.0.0.1:{port}", asc_tokens, timeout=(0.5, 0.5), backoff=0.001, sleep=sleeps
        )
        with pytest.raises(TransportError) as caught:
            list(client.products())
        assert str(caught.value).startswith(f"cannot reach 127.0.0.1:{port}: ")
        assert client.calls == 5 and len(sleeps) == 4

    def test_nothing_secret_reaches_the_logs(self, simulator, asc_client, caplog):
        caplog.set_level(logging.DEBUG)
        simulator.faults.inject("500")
        artifact = simulator.dataset.all_visible_artifacts()[0]
        url = asc_client.artifact(artifact.id).download_url
        asc_client.open_download(url).close()
        text = "\n".join(
            r.getMessage() for r in caplog.records if r.name.startswith("artifacts_app.asc.client")
        )
        assert "GET /v1/ciArtifacts/" in text
        assert asc_client.tokens.token() not in text
        assert "sig=" not in text


class DownloadTests:
    def test_download_streams_the_artifact_without_authorization(self, simulator, asc_client):
        artifact = simulator.dataset.all_visible_artifacts()[0]
        fresh = asc_client.artifact(artifact.id)
        response = asc_client.open_download(fresh.download_url)
        digest = hashlib.sha256()
        size = 0
        for chunk in response.iter_content(8192):
            digest.update(chunk)
            size += len(chunk)
        assert size == artifact.file_size
        assert digest.hexdigest() == served_sha256(simulator.dataset, artifact)
        assert "Authorization" not in response.request.headers
        assert not simulator.stats.download_authorization_seen

    def test_a_netrc_entry_neither_replaces_the_token_nor_reaches_a_download(
        self, simulator, asc_client, tmp_path, monkeypatch
    ):
        netrc = tmp_path / "netrc"
        netrc.write_text("default login someone password netrc-secret\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        artifact = simulator.dataset.all_visible_artifacts()[0]

        url = asc_client.artifact(artifact.id).download_url
        with asc_client.open_download(url) as response:
            assert len(response.content) == artifact.file_size

        assert not simulator.stats.download_authorization_seen

    def test_expired_url_is_an_expired_download_error(self, simulator, asc_client):
        simulator.config.download_expiry = -1
        artifact = simulator.dataset.all_visible_artifacts()[0]
        url = asc_client.artifact(artifact.id).download_url
        with pytest.raises(ExpiredDownloadError) as caught:
            asc_client.open_download(url)
        assert "sig=" not in str(caught.value)

    def test_vanished_artifact_is_not_found(self, simulator, asc_client):
        url = simulator.app.download_url(simulator.base_url, "gone-upstream")
        with pytest.raises(NotFoundError):
            asc_client.open_download(url)

    @pytest.mark.parametrize(
        "url", ["ftp://cdn.example/a.zip?sig=SECRET", "cdn.example/a.zip?sig=SECRET", "http://[::1"]
    )
    def test_an_unusable_download_url_is_a_transport_error_without_the_url(self, asc_client, url):
        with pytest.raises(TransportError) as caught:
            asc_client.open_download(url)
        shown = "".join(traceback.format_exception(caught.value))  # what a traceback prints
        assert "SECRET" not in shown and url not in shown

    def test_cut_download_surfaces_while_reading(self, simulator, asc_client):
        artifact = simulator.dataset.all_visible_artifacts()[0]
        url = asc_client.artifact(artifact.id).download_url
        simulator.faults.inject("cut")
        response = asc_client.open_download(url)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            b"".join(response.iter_content(8192))


class AppleExampleTests:
    def test_products_example_parses(self):
        document = example("apple-docs_GET_v1_ciProducts.json")
        products = [product_from_json(r) for r in document["data"]]
        assert [p.name for p in products][:2] == ["My Product 5", "My Product 4"]
        assert products[0].created_date.year == 2021
        single = product_from_json(example("apple-docs_GET_v1_ciProducts_id.json")["data"])
        assert single.product_type == "APP"

    def test_pending_build_run_example_parses_with_nulls(self):
        document = example("apple-docs_GET_v1_ciBuildRuns_id.json")
        run = build_run_from_json(document["data"], index_included(document), "product-1")
        assert run.number == 1
        assert run.execution_progress == "PENDING"
        assert run.started_date is None and run.issue_counts is None
        assert run.source_commit.author == "Source Author"
        assert run.product_id == "product-1"

    def test_actions_example_parses_with_nulls(self):
        document = example("apple-docs_GET_v1_ciBuildRuns_id_actions.json")
        action = build_action_from_json(document["data"][0], "run-1")
        assert (action.name, action.action_type, action.completion_status) == (
            "archive",
            "ARCHIVE",
            None,
        )
        assert action.build_run_id == "run-1"

    def test_error_example_becomes_a_parameter_error_naming_the_parameter(self):
        error = error_from_response(
            400, example("apple-docs_error_400_PARAMETER_ERROR_INVALID.json")
        )
        assert isinstance(error, ParameterError)
        assert error.code == "PARAMETER_ERROR.INVALID"
        assert "filter[emaill]" in str(error)
        assert "\n" not in str(error)


class FromSettingsTests:
    def test_builds_a_working_client_from_settings_values(self, simulator, asc_key):
        client = AscClient.from_settings_values(
            simulator.base_url, SIM_KEY_ID, SIM_ISSUER_ID, None, asc_key.private_pem
        )
        assert len(list(client.products())) == 3

    def test_missing_key_names_the_setting(self):
        with pytest.raises(ConfigurationError, match="ASC_PRIVATE_KEY_PATH"):
            AscClient.from_settings_values("https://api.appstoreconnect.apple.com", "K", "", "", "")


class PullRequestDocumentTests:
    def test_a_pull_request_build_carries_its_pull_request_and_destination(self):
        document = {
            "data": {
                "type": "ciBuildRuns",
                "id": "run-1",
                "attributes": {"number": 42, "isPullRequestBuild": True},
                "relationships": {
                    "destinationBranch": {"data": {"type": "scmGitReferences", "id": "ref-main"}},
                    "pullRequest": {"data": {"type": "scmPullRequests", "id": "pr-1"}},
                },
            },
            "included": [
                {"type": "scmGitReferences", "id": "ref-main", "attributes": {"name": "main"}},
                {
                    "type": "scmPullRequests",
                    "id": "pr-1",
                    "attributes": {
                        "title": "Smaller assets",
                        "number": 318,
                        "webUrl": "https://git.example.com/app/pull/318",
                    },
                },
            ],
        }
        run = build_run_from_json(document["data"], index_included(document), "product-1")
        assert run.is_pull_request_build
        assert run.destination_branch_name == "main"
        assert (run.pull_request_number, run.pull_request_title) == (318, "Smaller assets")
        assert run.pull_request_url == "https://git.example.com/app/pull/318"
