"""The simulator speaks Apple's documents, checks tokens like Apple, and fails on demand."""

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import requests

from artifacts_app.asc.simulator import Dataset, content_chunks, run_in_thread, served_sha256
from artifacts_app.asc.simulator.downloads import BLOCK_SIZE, PatternBody
from tests.apple_spec import validate
from tests.simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID, make_key_pair


def api(simulator, tokens, path, **params):
    return requests.get(
        simulator.base_url + path,
        params=params,
        headers={"Authorization": f"Bearer {tokens.token()}"},
        timeout=5,
    )


def first(simulator, kind):
    dataset = simulator.dataset
    product = dataset.products[0]
    runs = dataset.visible_runs(product)
    finished = next(r for r in runs if r.progress(dataset.now_ts) == "COMPLETE")
    return {
        "product": product,
        "workflow": product.workflows[0],
        "run": finished,
        "pending_run": runs[-1],
        "action": finished.actions[0],
        "artifact": finished.actions[0].artifacts[0],
    }[kind]


class DocumentSchemaTests:
    @pytest.mark.parametrize(
        ("path", "params", "schema"),
        [
            ("/v1/ciProducts", {"limit": 2}, "CiProductsResponse"),
            ("/v1/ciProducts/{product}", {}, "CiProductResponse"),
            ("/v1/ciProducts/{product}/workflows", {"include": "product"}, "CiWorkflowsResponse"),
            ("/v1/ciWorkflows/{workflow}", {"include": "product"}, "CiWorkflowResponse"),
            (
                "/v1/ciProducts/{product}/buildRuns",
                {
                    "sort": "-number",
                    "include": "workflow,product,sourceBranchOrTag,destinationBranch",
                },
                "CiBuildRunsResponse",
            ),
            ("/v1/ciWorkflows/{workflow}/buildRuns", {"limit": 5}, "CiBuildRunsResponse"),
            (
                "/v1/ciBuildRuns/{run}",
                {"include": "workflow,sourceBranchOrTag"},
                "CiBuildRunResponse",
            ),
            ("/v1/ciBuildRuns/{pending_run}", {}, "CiBuildRunResponse"),
            ("/v1/ciBuildRuns/{run}/actions", {"include": "buildRun"}, "CiBuildActionsResponse"),
            ("/v1/ciBuildRuns/{pending_run}/actions", {}, "CiBuildActionsResponse"),
            ("/v1/ciBuildActions/{action}", {"include": "buildRun"}, "CiBuildActionResponse"),
            ("/v1/ciBuildActions/{action}/artifacts", {}, "CiArtifactsResponse"),
            ("/v1/ciArtifacts/{artifact}", {}, "CiArtifactResponse"),
            ("/v1/ciProducts", {"limit": 0}, "ErrorResponse"),
            ("/v1/ciBuildRuns/no-such-run", {}, "ErrorResponse"),
        ],
    )
    def test_every_document_kind_matches_apples_schema(
        self, simulator, asc_tokens, path, params, schema
    ):
        ids = {
            k: first(simulator, k).id
            for k in ("product", "workflow", "run", "pending_run", "action", "artifact")
        }
        response = api(simulator, asc_tokens, path.format(**ids), **params)
        assert response.headers["Content-Type"] == "application/json"
        validate(response.json(), schema)

    def test_the_validator_rejects_a_document_apple_would_not_send(self):
        wrong = {
            "data": {"type": "ciArtifacts", "id": "1", "attributes": {"fileSize": "big"}},
            "links": {"self": "x"},
        }
        with pytest.raises(AssertionError, match="fileSize"):
            validate(wrong, "CiArtifactResponse")

    def test_unauthorized_and_rate_limited_errors_match_the_error_schema(
        self, simulator, asc_tokens
    ):
        unauthorized = requests.get(simulator.base_url + "/v1/ciProducts", timeout=5)
        assert unauthorized.status_code == 401
        validate(unauthorized.json(), "ErrorResponse")
        simulator.faults.inject("429")
        limited = api(simulator, asc_tokens, "/v1/ciProducts")
        assert limited.status_code == 429
        validate(limited.json(), "ErrorResponse")

    def test_hostile_names_still_match_the_schema(self, asc_key):
        server = run_in_thread(seed=3, runs=20, hostile_names=True, size_scale=1e-5)
        try:
            product = server.dataset.products[0]
            headers = {"Authorization": "Bearer " + unsigned_token()}
            response = requests.get(
                f"{server.base_url}/v1/ciProducts/{product.id}/workflows",
                headers=headers,
                timeout=5,
            )
            names = [w["attributes"]["name"] for w in response.json()["data"]]
            assert "<script>alert(1)</script>" in names
            validate(response.json(), "CiWorkflowsResponse")
        finally:
            server.stop()


def unsigned_token(**claims) -> str:
    """A well-formed token for a simulator that has no public key configured."""
    key = make_key_pair().private_pem
    now = int(time.time())
    payload = {"iat": now - 60, "exp": now + 600, "aud": "appstoreconnect-v1", "sub": "user"}
    payload.update(claims)
    return jwt.encode(payload, key, algorithm="ES256", headers={"kid": "ANY"})


class QueryParameterTests:
    def test_limit_outside_1_to_200_is_parameter_error_invalid(self, simulator, asc_tokens):
        for limit in (0, 201, "x"):
            response = api(simulator, asc_tokens, "/v1/ciProducts", limit=limit)
            error = response.json()["errors"][0]
            assert response.status_code == 400
            assert error["code"] == "PARAMETER_ERROR.INVALID"
            assert error["source"] == {"parameter": "limit"}

    def test_unknown_parameter_is_rejected(self, simulator, asc_tokens):
        response = api(simulator, asc_tokens, "/v1/ciProducts", **{"filter[emaill]": "x"})
        assert response.status_code == 400
        assert response.json()["errors"][0]["source"]["parameter"] == "filter[emaill]"

    def test_include_is_only_what_the_endpoint_allows(self, simulator, asc_tokens):
        run = first(simulator, "run")
        response = api(
            simulator, asc_tokens, f"/v1/ciBuildRuns/{run.id}/actions", include="artifacts"
        )
        assert response.status_code == 400

    def test_unknown_ids_are_404_not_found(self, simulator, asc_tokens):
        for path in (
            "/v1/ciProducts/nope",
            "/v1/ciBuildActions/nope/artifacts",
            "/v1/ciArtifacts/nope",
            "/v1/ciWorkflows/nope/buildRuns",
        ):
            response = api(simulator, asc_tokens, path)
            assert response.status_code == 404
            assert response.json()["errors"][0]["code"] == "NOT_FOUND"

    def test_sparse_fields_leave_out_other_attributes(self, simulator, asc_tokens):
        product = first(simulator, "product")
        response = api(
            simulator,
            asc_tokens,
            f"/v1/ciProducts/{product.id}/buildRuns",
            **{"fields[ciBuildRuns]": "number"},
        )
        assert {tuple(r["attributes"]) for r in response.json()["data"]} == {("number",)}

    def test_sort_by_number_descending_puts_newest_first(self, simulator, asc_tokens):
        product = first(simulator, "product")
        response = api(
            simulator, asc_tokens, f"/v1/ciProducts/{product.id}/buildRuns", sort="-number", limit=5
        )
        numbers = [r["attributes"]["number"] for r in response.json()["data"]]
        assert numbers == sorted(numbers, reverse=True)
        assert numbers[0] == len(simulator.dataset.visible_runs(product))

    def test_next_link_is_opaque_and_repeating_a_parameter_is_rejected(self, simulator, asc_tokens):
        product = first(simulator, "product")
        page = api(simulator, asc_tokens, f"/v1/ciProducts/{product.id}/buildRuns", limit=3)
        next_url = page.json()["links"]["next"]
        assert "cursor=" in next_url
        duplicated = requests.get(
            next_url,
            params={"limit": 3},
            timeout=5,
            headers={"Authorization": f"Bearer {asc_tokens.token()}"},
        )
        assert duplicated.status_code == 400
        assert duplicated.json()["errors"][0]["code"] == "PARAMETER_ERROR.DUPLICATE"


class TokenVerificationTests:
    def sign(self, key_pem, lifetime=600, kid=SIM_KEY_ID, **claims):
        now = int(time.time())
        payload = {
            "iss": SIM_ISSUER_ID,
            "iat": now - 30,
            "exp": now - 30 + lifetime,
            "aud": "appstoreconnect-v1",
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key_pem, algorithm="ES256", headers={"kid": kid})

    def detail_for(self, simulator, token):
        response = requests.get(
            simulator.base_url + "/v1/ciProducts",
            timeout=5,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 401
        error = response.json()["errors"][0]
        assert error["code"] == "NOT_AUTHORIZED"
        return error["detail"]

    def test_a_good_token_is_accepted(self, simulator, asc_key):
        response = requests.get(
            simulator.base_url + "/v1/ciProducts",
            timeout=5,
            headers={"Authorization": f"Bearer {self.sign(asc_key.private_pem)}"},
        )
        assert response.status_code == 200

    def test_wrong_signature_is_refused(self, simulator):
        detail = self.detail_for(simulator, self.sign(make_key_pair().private_pem))
        assert "signature" in detail

    def test_wrong_kid_is_refused(self, simulator, asc_key):
        assert "kid" in self.detail_for(simulator, self.sign(asc_key.private_pem, kid="OTHER"))

    def test_wrong_issuer_is_refused(self, simulator, asc_key):
        assert "iss" in self.detail_for(simulator, self.sign(asc_key.private_pem, iss="other"))

    def test_individual_key_token_for_a_team_key_is_refused(self, simulator, asc_key):
        token = self.sign(asc_key.private_pem, iss=None, sub="user")
        assert "individual" in self.detail_for(simulator, token)

    def test_wrong_audience_is_refused(self, simulator, asc_key):
        assert "aud" in self.detail_for(simulator, self.sign(asc_key.private_pem, aud="x"))

    def test_expired_token_is_refused(self, simulator, asc_key):
        assert "expired" in self.detail_for(simulator, self.sign(asc_key.private_pem, lifetime=20))

    def test_lifetime_over_twenty_minutes_needs_a_get_only_scope(self, simulator, asc_key):
        long_lived = self.sign(asc_key.private_pem, lifetime=3600)
        assert "20 minutes" in self.detail_for(simulator, long_lived)
        scoped = self.sign(asc_key.private_pem, lifetime=3600, scope=["GET /v1/ciProducts"])
        response = requests.get(
            simulator.base_url + "/v1/ciProducts",
            timeout=5,
            headers={"Authorization": f"Bearer {scoped}"},
        )
        assert response.status_code == 200

    def test_a_token_without_iat_is_refused(self, simulator, asc_key):
        detail = self.detail_for(simulator, self.sign(asc_key.private_pem, iat=None))
        assert "iat is required" in detail

    def test_missing_authorization_is_refused(self, simulator):
        response = requests.get(simulator.base_url + "/v1/ciProducts", timeout=5)
        assert response.status_code == 401
        assert "no bearer token" in response.json()["errors"][0]["detail"]


class BudgetTests:
    def test_every_response_reports_the_hourly_budget_and_429_once_spent(
        self, simulator, asc_tokens
    ):
        simulator.config.budget = 3
        remaining = []
        for _ in range(3):
            response = api(simulator, asc_tokens, "/v1/ciProducts")
            assert response.status_code == 200
            remaining.append(response.headers["X-Rate-Limit"])
        assert remaining == [f"user-hour-lim:3;user-hour-rem:{n};" for n in (2, 1, 0)]
        spent = api(simulator, asc_tokens, "/v1/ciProducts")
        assert spent.status_code == 429
        assert spent.json()["errors"][0]["code"] == "RATE_LIMIT_EXCEEDED"
        simulator.reset_budget()
        assert api(simulator, asc_tokens, "/v1/ciProducts").status_code == 200

    def test_requests_are_counted_per_kind(self, simulator, asc_tokens):
        product = first(simulator, "product")
        api(simulator, asc_tokens, "/v1/ciProducts")
        api(simulator, asc_tokens, f"/v1/ciProducts/{product.id}/buildRuns")
        api(simulator, asc_tokens, f"/v1/ciProducts/{product.id}/buildRuns")
        assert simulator.stats.api_requests == 3
        assert simulator.stats.by_kind["ciProducts/buildRuns"] == 2


class PackageTests:
    def test_the_simulator_imports_without_django_settings(self):
        code = (
            "import sys, artifacts_app.asc.simulator; "
            "print(sorted(m for m in sys.modules if m.startswith('django')))"
        )
        environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=Path(__file__).resolve().parents[1],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout.strip() == "[]"


class DatasetTests:
    def test_same_seed_gives_the_same_account(self):
        one, two = Dataset(seed=5, runs=40), Dataset(seed=5, runs=40)
        assert sorted(one.artifacts) == sorted(two.artifacts)
        assert [a.file_size for a in one.artifacts.values()] == [
            a.file_size for a in two.artifacts.values()
        ]
        assert sorted(Dataset(seed=6, runs=40).artifacts) != sorted(one.artifacts)

    def test_archive_runs_carry_apples_artifact_mix(self):
        dataset = Dataset(seed=1, runs=200)
        archive = next(
            a
            for a in dataset.actions.values()
            if a.action_type == "ARCHIVE" and a.outcome == "SUCCEEDED"
        )
        assert sorted(
            (a.file_type, a.file_name) for a in archive.artifacts if a.file_type == "ARCHIVE_EXPORT"
        ) == [("ARCHIVE_EXPORT", "app-store.zip"), ("ARCHIVE_EXPORT", "development.zip")]
        assert {a.file_type for a in archive.artifacts} == {
            "ARCHIVE",
            "ARCHIVE_EXPORT",
            "LOG_BUNDLE",
            "RESULT_BUNDLE",
        }
        test = next(
            a
            for a in dataset.actions.values()
            if a.action_type == "TEST" and a.outcome == "SUCCEEDED"
        )
        assert {a.file_type for a in test.artifacts} == {
            "TEST_PRODUCTS",
            "RESULT_BUNDLE",
            "LOG_BUNDLE",
        }

    def test_newest_runs_are_unfinished_and_finish_when_time_advances(self, simulator, asc_tokens):
        dataset = simulator.dataset
        live = [r for r in dataset.runs.values() if r.progress(dataset.now_ts) != "COMPLETE"]
        assert live
        document = api(simulator, asc_tokens, f"/v1/ciBuildRuns/{live[0].id}").json()
        assert document["data"]["attributes"]["finishedDate"] is None
        assert document["data"]["attributes"]["completionStatus"] is None
        before = len(dataset.runs)
        new_runs = dataset.advance(hours=6)
        assert len(dataset.runs) == before + len(new_runs) > before
        document = api(simulator, asc_tokens, f"/v1/ciBuildRuns/{live[0].id}").json()
        assert document["data"]["attributes"]["executionProgress"] == "COMPLETE"

    def test_sizes_are_realistic_and_some_archives_pass_2_gib(self):
        dataset = Dataset(seed=1, runs=3000)
        archives = [a.file_size for a in dataset.artifacts.values() if a.file_type == "ARCHIVE"]
        logs = [a.file_size for a in dataset.artifacts.values() if a.file_type == "LOG_BUNDLE"]
        assert min(archives) > 100 * 2**20
        assert any(size > 2 * 2**30 for size in archives)
        assert max(logs) < 50 * 2**20

    def test_ten_thousand_runs_make_an_account_of_realistic_scale(self):
        # How fast it builds is measured by benchmarks/dataset_benchmark.py.
        dataset = Dataset(seed=2, runs=10_000)
        assert len(dataset.runs) == 10_000
        assert len(dataset.artifacts) > 50_000


class DownloadTests:
    def fresh_url(self, simulator, asc_tokens, artifact):
        document = api(simulator, asc_tokens, f"/v1/ciArtifacts/{artifact.id}").json()
        return document["data"]["attributes"]["downloadUrl"]

    def test_download_streams_exactly_file_size_deterministic_bytes(self, simulator, asc_tokens):
        artifact = first(simulator, "artifact")
        url = self.fresh_url(simulator, asc_tokens, artifact)
        assert url.startswith(simulator.base_url + "/download/")
        body = requests.get(url, timeout=5).content
        assert len(body) == artifact.file_size
        assert hashlib.sha256(body).hexdigest() == served_sha256(simulator.dataset, artifact)

    def test_a_body_read_at_any_offset_matches_the_streamed_bytes(self):
        size = 3 * BLOCK_SIZE + 123
        whole = b"".join(content_chunks("artifact-1", size))
        body = PatternBody("artifact-1", size)
        for offset, length in [
            (0, 10),
            (BLOCK_SIZE - 5, 10),
            (2 * BLOCK_SIZE, BLOCK_SIZE),
            (size - 7, 50),
        ]:
            assert body.read(offset, length) == whole[offset : offset + length]

    def test_download_with_authorization_header_is_refused_and_recorded(
        self, simulator, asc_tokens
    ):
        url = self.fresh_url(simulator, asc_tokens, first(simulator, "artifact"))
        assert not simulator.stats.download_authorization_seen
        response = requests.get(url, headers={"Authorization": "Bearer x"}, timeout=5)
        assert response.status_code == 400
        assert simulator.stats.download_authorization_seen

    def test_download_url_expires(self, simulator, asc_tokens):
        simulator.config.download_expiry = -1
        url = self.fresh_url(simulator, asc_tokens, first(simulator, "artifact"))
        assert requests.get(url, timeout=5).status_code == 403

    def test_tampered_signature_is_refused(self, simulator, asc_tokens):
        url = self.fresh_url(simulator, asc_tokens, first(simulator, "artifact"))
        assert requests.get(url[:-4] + "0000", timeout=5).status_code == 403

    def test_cut_download_delivers_fewer_bytes_than_promised(self, simulator, asc_tokens):
        artifact = first(simulator, "artifact")
        url = self.fresh_url(simulator, asc_tokens, artifact)
        simulator.faults.inject("cut")
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(url, timeout=5).content  # noqa: B018


class FaultTests:
    @pytest.mark.parametrize(("kind", "status"), [("429", 429), ("500", 500), ("503", 503)])
    def test_status_faults(self, simulator, asc_tokens, kind, status):
        simulator.faults.inject(kind)
        assert api(simulator, asc_tokens, "/v1/ciProducts").status_code == status
        assert api(simulator, asc_tokens, "/v1/ciProducts").status_code == 200

    def test_429_with_retry_after(self, simulator, asc_tokens):
        simulator.faults.retry_after = 7
        simulator.faults.inject("429-retry-after")
        assert api(simulator, asc_tokens, "/v1/ciProducts").headers["Retry-After"] == "7"

    def test_reset_drops_the_connection(self, simulator, asc_tokens):
        simulator.faults.inject("reset")
        with pytest.raises(requests.ConnectionError):
            api(simulator, asc_tokens, "/v1/ciProducts")

    def test_truncated_body_is_cut_short(self, simulator, asc_tokens):
        simulator.faults.inject("truncate")
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            api(simulator, asc_tokens, "/v1/ciProducts")

    def test_invalid_json_body(self, simulator, asc_tokens):
        simulator.faults.inject("invalid-json")
        with pytest.raises(ValueError):
            api(simulator, asc_tokens, "/v1/ciProducts").json()

    def test_random_fault_rates_are_deterministic_for_a_seed(self, asc_key):
        def statuses():
            server = run_in_thread(seed=11, runs=5, rates={"500": 0.5})
            try:
                headers = {"Authorization": "Bearer " + unsigned_token()}
                return [
                    requests.get(
                        server.base_url + "/v1/ciProducts", headers=headers, timeout=5
                    ).status_code
                    for _ in range(12)
                ]
            finally:
                server.stop()

        first_statuses = statuses()
        assert set(first_statuses) == {200, 500}
        assert statuses() == first_statuses

    def test_latency_slows_responses(self, simulator, asc_tokens):
        simulator.faults.latency = 0.3
        started = time.monotonic()
        api(simulator, asc_tokens, "/v1/ciProducts")
        assert time.monotonic() - started >= 0.3
