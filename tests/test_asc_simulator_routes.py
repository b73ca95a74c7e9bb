"""The simulator serves every link it advertises, and every include Apple's spec allows."""

import re
from collections import deque
from urllib.parse import urlsplit

import pytest
import requests

from artifacts_app.asc.simulator.catalog import MACOS, XCODE
from artifacts_app.asc.simulator.routes import ROUTES, find_route
from tests.apple_spec import spec, validate
from tests.simulator_fixtures import start_simulator

RUN_INCLUDES = "builds,workflow,product,sourceBranchOrTag,destinationBranch,pullRequest"


def operations() -> dict[str, dict]:
    """Apple's GET operations by path template."""
    return {path: ops["get"] for path, ops in spec()["paths"].items() if "get" in ops}


def response_schema(path: str) -> str | None:
    """The name of the schema Apple answers ``path`` with, or None for paths outside the subset."""
    for template, operation in operations().items():
        if re.fullmatch(template.replace("{id}", "[^/]+"), path):
            schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
            return schema["$ref"].rsplit("/", 1)[1]
    return None


def include_values(template: str) -> list[str]:
    for parameter in operations()[template].get("parameters", []):
        if parameter["name"] == "include":
            return parameter["schema"]["items"]["enum"]
    return []


@pytest.fixture(scope="module")
def small_account(asc_key):
    # 16 runs: every product, a pull-request run, a framework product without an app.
    server = start_simulator(asc_key, seed=7, runs=16)
    yield server
    server.stop()


def get(server, tokens, url):
    headers = {"Authorization": f"Bearer {tokens.token()}"}
    return requests.get(url, headers=headers, timeout=5)


def links_in(document: dict) -> set[str]:
    """Every links.self / links.related / links.next in a document, its resources and their
    relationships."""
    found = set()
    resources = document.get("data")
    resources = resources if isinstance(resources, list) else [resources] if resources else []
    for holder in [document, *resources, *document.get("included", [])]:
        found.update((holder.get("links") or {}).values())
        for relationship in (holder.get("relationships") or {}).values():
            found.update((relationship.get("links") or {}).values())
    return found


def pull_request_run(server):
    dataset = server.dataset
    return next(
        run
        for run in dataset.runs.values()
        if run.pull_request and run.progress(dataset.now_ts) == "COMPLETE"
    )


class LinkWalkTests:
    def test_every_advertised_link_answers_200_in_apples_shape(self, small_account, asc_tokens):
        server, base = small_account, small_account.base_url
        product = server.dataset.products[0]
        queue = deque(
            [
                f"{base}/v1/ciProducts?include=app,bundleId,primaryRepositories",
                f"{base}/v1/ciProducts/{product.id}/workflows"
                "?include=product,repository,xcodeVersion,macOsVersion",
                *(
                    f"{base}/v1/ciProducts/{p.id}/buildRuns?limit=200&include={RUN_INCLUDES}"
                    for p in server.dataset.products
                ),
                *(
                    f"{base}/v1/ciBuildRuns/{run.id}/actions?include=buildRun"
                    for run in server.dataset.runs.values()
                ),
            ]
        )
        seen: set[str] = set(queue)
        checked: set[str] = set()
        while queue:
            url = queue.popleft()
            response = get(server, asc_tokens, url)
            path = urlsplit(url).path
            assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
            document = response.json()
            schema = response_schema(path)
            if schema is not None:
                validate(document, schema)
                checked.add(schema)
            else:  # a resource of the wider API, served by id
                kind, resource_id = path.split("/")[2:4]
                assert (document["data"]["type"], document["data"]["id"]) == (kind, resource_id)
            for link in links_in(document) - seen:
                assert link.startswith(base), link
                seen.add(link)
                queue.append(link)
        # The walk reached the linkage documents and the related resources, not only lists.
        assert {
            "CiProductAppLinkageResponse",
            "CiProductPrimaryRepositoriesLinkagesResponse",
            "CiWorkflowRepositoryLinkageResponse",
            "CiBuildRunBuildsLinkagesResponse",
            "CiBuildActionBuildRunLinkageResponse",
            "CiBuildActionTestResultsLinkagesResponse",
            "CiIssuesResponse",
            "CiTestResultsResponse",
            "ScmRepositoryResponse",
            "ScmRepositoriesResponse",
            "AppResponse",
            "BuildsResponse",
            "CiXcodeVersionResponse",
        } <= checked

    def test_a_framework_product_advertises_no_app(self, small_account, asc_tokens):
        framework = next(p for p in small_account.dataset.products if p.app is None)
        url = f"{small_account.base_url}/v1/ciProducts/{framework.id}?include=app,bundleId"
        resource = get(small_account, asc_tokens, url).json()["data"]
        assert "app" not in resource["relationships"]
        assert "bundleId" not in resource["relationships"]


SERVED_WITH_INCLUDE = [
    "/v1/ciProducts",
    "/v1/ciProducts/{id}",
    "/v1/ciProducts/{id}/workflows",
    "/v1/ciProducts/{id}/buildRuns",
    "/v1/ciProducts/{id}/app",
    "/v1/ciProducts/{id}/primaryRepositories",
    "/v1/ciProducts/{id}/additionalRepositories",
    "/v1/ciWorkflows/{id}",
    "/v1/ciWorkflows/{id}/buildRuns",
    "/v1/ciWorkflows/{id}/repository",
    "/v1/ciBuildRuns/{id}",
    "/v1/ciBuildRuns/{id}/actions",
    "/v1/ciBuildRuns/{id}/builds",
    "/v1/ciBuildActions/{id}",
    "/v1/ciBuildActions/{id}/buildRun",
    "/v1/scmRepositories/{id}",
    "/v1/ciXcodeVersions/{id}",
    "/v1/ciMacOsVersions/{id}",
]


class IncludeTests:
    def path_for(self, server, template: str) -> str:
        run = pull_request_run(server)
        ids = {
            "ciProducts": run.product.id,
            "ciWorkflows": run.workflow.id,
            "ciBuildRuns": run.id,
            "ciBuildActions": run.actions[0].id,
            "scmRepositories": run.product.repository.id,
            "ciXcodeVersions": XCODE.id,
            "ciMacOsVersions": MACOS.id,
        }
        return template.replace("{id}", ids[template.split("/")[2]])

    def test_every_served_endpoint_with_includes_is_checked(self):
        with_include = {template for template in operations() if include_values(template)}
        served = {t for t in with_include if not t.startswith(("/v1/ciBuildRuns/{id}/", "/v1/sc"))}
        assert served - set(SERVED_WITH_INCLUDE) == {
            "/v1/ciMacOsVersions",
            "/v1/ciMacOsVersions/{id}/xcodeVersions",
            "/v1/ciXcodeVersions",
            "/v1/ciXcodeVersions/{id}/macOsVersions",
        }  # lists of versions the simulator does not serve (it never links to them)

    @pytest.mark.parametrize("template", SERVED_WITH_INCLUDE)
    def test_each_include_apple_allows_fills_included_or_is_refused(
        self, small_account, asc_tokens, template
    ):
        url = small_account.base_url + self.path_for(small_account, template)
        for name in include_values(template):
            params = {"include": name}
            if "{id}/buildRuns" in template:
                params["limit"] = "200"  # so the page holds a pull-request run
            response = requests.get(
                url,
                params=params,
                headers={"Authorization": f"Bearer {asc_tokens.token()}"},
                timeout=5,
            )
            document = response.json()
            if response.status_code == 400:
                assert document["errors"][0]["code"].startswith("PARAMETER_ERROR"), name
                continue
            assert response.status_code == 200, f"include={name}: {response.status_code}"
            self.assert_included(document, name)

    def assert_included(self, document, name):
        data = document["data"]
        resources = data if isinstance(data, list) else [data]
        filled = [
            r["relationships"][name]["data"]
            for r in resources
            if "data" in r.get("relationships", {}).get(name, {})
        ]
        assert filled, f"include={name}: no resource carries relationships.{name}.data"
        included = {(r["type"], r["id"]) for r in document.get("included", [])}
        for linkage in filled:
            for item in linkage if isinstance(linkage, list) else [linkage]:
                assert (item["type"], item["id"]) in included, f"include={name}: {item} missing"


class RelatedDataTests:
    def api(self, server, tokens, path, **params):
        headers = {"Authorization": f"Bearer {tokens.token()}"}
        return requests.get(server.base_url + path, params=params, headers=headers, timeout=5)

    def test_workflows_carry_their_start_condition_and_repository(self, small_account, asc_tokens):
        run = pull_request_run(small_account)
        document = self.api(small_account, asc_tokens, f"/v1/ciWorkflows/{run.workflow.id}").json()
        attributes = document["data"]["attributes"]
        assert attributes["pullRequestStartCondition"]["destination"]["patterns"] == [
            {"pattern": "main", "isPrefix": False}
        ]
        assert document["data"]["relationships"]["repository"]["data"] == {
            "type": "scmRepositories",
            "id": run.product.repository.id,
        }

    def test_issues_add_up_to_the_actions_issue_counts(self, small_account, asc_tokens):
        action = pull_request_run(small_account).actions[0]
        counts = self.api(small_account, asc_tokens, f"/v1/ciBuildActions/{action.id}").json()
        issues = self.api(
            small_account, asc_tokens, f"/v1/ciBuildActions/{action.id}/issues", limit=200
        ).json()["data"]
        by_type = {
            "analyzerWarnings": "ANALYZER_WARNING",
            "errors": "ERROR",
            "testFailures": "TEST_FAILURE",
            "warnings": "WARNING",
        }
        for field, issue_type in by_type.items():
            expected = counts["data"]["attributes"]["issueCounts"][field]
            assert sum(i["attributes"]["issueType"] == issue_type for i in issues) == expected

    def test_a_failed_test_action_lists_its_failing_tests(self, asc_key, asc_tokens):
        server = start_simulator(asc_key, seed=7, runs=300)
        try:
            dataset = server.dataset
            action = next(
                a
                for a in dataset.actions.values()
                if a.action_type == "TEST" and a.issues[2] and dataset.is_visible(a.run)
            )
            results = self.api(
                server, asc_tokens, f"/v1/ciBuildActions/{action.id}/testResults", limit=200
            ).json()["data"]
            statuses = [r["attributes"]["status"] for r in results]
            assert statuses.count("FAILURE") == action.issues[2]
            assert "SUCCESS" in statuses
        finally:
            server.stop()

    def test_filter_app_keeps_only_that_apps_product(self, small_account, asc_tokens):
        product = small_account.dataset.products[0]
        document = self.api(
            small_account, asc_tokens, "/v1/ciProducts", **{"filter[app]": product.app.id}
        ).json()
        assert [p["id"] for p in document["data"]] == [product.id]

    def test_limit_of_an_included_relationship_is_bounded(self, small_account, asc_tokens):
        response = self.api(
            small_account, asc_tokens, "/v1/ciProducts", **{"limit[primaryRepositories]": "51"}
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["source"] == {"parameter": "limit[primaryRepositories]"}


class ParameterContractTests:
    # Apple's own example lists products with sort=latestBuildCreatedDate, which the spec omits.
    BEYOND_THE_SPEC = {("/v1/ciProducts", "sort")}

    def test_no_endpoint_accepts_a_parameter_or_value_apples_spec_does_not_list(self):
        unchecked = {route.kind for route in ROUTES}
        for template, operation in operations().items():
            found = find_route(template.replace("{id}", "some-id"))
            if found is None:
                continue  # not served, so never linked (the walk test holds it to that)
            listed = {p["name"]: p["schema"] for p in operation.get("parameters", [])}
            allowed = found[0].parameters
            names = {k for k in ("limit", "include", "sort") if k in allowed}
            names |= {f"fields[{kind}]" for kind in allowed.get("fields", [])}
            names |= set(allowed.get("extra", []))
            names -= {name for path, name in self.BEYOND_THE_SPEC if path == template}
            assert names <= set(listed), f"{template}: {names - set(listed)}"
            if "include" in names:
                assert set(allowed["include"]) <= set(listed["include"]["items"]["enum"])
            if "limit" in names:
                assert allowed["limit"] == listed["limit"]["maximum"], template
            unchecked.discard(found[0].kind)
        assert unchecked == {"scmGitReferences/id", "scmPullRequests/id"}  # beyond the subset
