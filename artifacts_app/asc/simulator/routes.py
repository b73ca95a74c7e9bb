"""The endpoints the simulator serves: paths, the parameters each allows, and their handlers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from .handlers import Api

Document = dict[str, Any]

RUN_INCLUDES = [
    "builds",
    "workflow",
    "product",
    "sourceBranchOrTag",
    "destinationBranch",
    "pullRequest",
]
RUN_FIELDS = [
    "ciBuildRuns",
    "builds",
    "ciWorkflows",
    "ciProducts",
    "scmGitReferences",
    "scmPullRequests",
]
RUN_ONE = {"include": RUN_INCLUDES, "fields": RUN_FIELDS, "extra": ["limit[builds]"]}
RUN_LIST = {
    **RUN_ONE,
    "limit": 200,
    "sort": ["number", "-number"],
    "extra": ["filter[builds]", "limit[builds]"],
}
PRODUCT_ONE = {
    "include": ["app", "bundleId", "primaryRepositories"],
    "fields": ["ciProducts", "apps", "bundleIds", "scmRepositories"],
    "extra": ["limit[primaryRepositories]"],
}
PRODUCT_LIST = {
    **PRODUCT_ONE,
    "limit": 200,
    "extra": ["limit[primaryRepositories]", "filter[productType]", "filter[app]"],
    "sort": ["latestBuildCreatedDate", "-latestBuildCreatedDate"],
}
WORKFLOW_ONE = {
    "include": ["product", "repository", "xcodeVersion", "macOsVersion"],
    "fields": [
        "ciWorkflows",
        "ciProducts",
        "scmRepositories",
        "ciXcodeVersions",
        "ciMacOsVersions",
    ],
}
ACTION_ONE = {"include": ["buildRun"], "fields": ["ciBuildActions", "ciBuildRuns"]}
SCM_ONE = {"fields": ["scmRepositories"]}
# Resources served only one at a time, by id.
SINGLE_KINDS = [
    "scmRepositories",
    "scmGitReferences",
    "scmPullRequests",
    "ciXcodeVersions",
    "ciMacOsVersions",
    "ciIssues",
    "ciTestResults",
]
# The relationships/... linkage endpoints, per parent type: to-many (paged) and to-one.
TO_MANY = {
    "ciProducts": ["workflows", "primaryRepositories", "additionalRepositories", "buildRuns"],
    "ciWorkflows": ["buildRuns"],
    "ciBuildRuns": ["actions", "builds"],
    "ciBuildActions": ["artifacts", "issues", "testResults"],
}
TO_ONE = {"ciProducts": ["app"], "ciWorkflows": ["repository"], "ciBuildActions": ["buildRun"]}


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    kind: str  # how Stats counts it: "ciProducts/buildRuns"
    handler: Callable[..., Document]  # an Api method, unbound
    parameters: dict[str, Any]  # what parse_request allows

    def match(self, path: str) -> tuple[str, ...] | None:
        found = self.pattern.fullmatch(path)
        return found.groups() if found else None


def _route(path: str, handler: Callable[..., Document], parameters: dict) -> Route:
    """``kind`` from the path: "/v1/ciProducts/{id}/workflows" counts as "ciProducts/workflows"."""
    parts = path.removeprefix("/v1/").split("/")
    named = [p for p in parts if p != "{id}" and not p.startswith("(")]
    kind = f"{parts[0]}/id" if parts[-1] == "{id}" else "/".join(named)
    return Route(re.compile(path.replace("{id}", "([^/]+)")), kind, handler, parameters)


def _listing(kind: str) -> dict[str, Any]:
    return {"limit": 200, "fields": [kind]}


ROUTES = [
    _route("/v1/ciProducts", Api.list_products, PRODUCT_LIST),
    _route("/v1/ciProducts/{id}", Api.get_product, PRODUCT_ONE),
    _route("/v1/ciProducts/{id}/app", Api.get_product_app, {"fields": ["apps"]}),
    _route(
        "/v1/ciProducts/{id}/primaryRepositories",
        Api.list_primary_repositories,
        _listing("scmRepositories"),
    ),
    _route(
        "/v1/ciProducts/{id}/additionalRepositories",
        Api.list_additional_repositories,
        _listing("scmRepositories"),
    ),
    _route("/v1/ciProducts/{id}/workflows", Api.list_workflows, {**WORKFLOW_ONE, "limit": 200}),
    _route("/v1/ciProducts/{id}/buildRuns", Api.list_product_runs, RUN_LIST),
    _route("/v1/ciWorkflows/{id}", Api.get_workflow, WORKFLOW_ONE),
    _route("/v1/ciWorkflows/{id}/repository", Api.get_workflow_repository, SCM_ONE),
    _route("/v1/ciWorkflows/{id}/buildRuns", Api.list_workflow_runs, RUN_LIST),
    _route("/v1/ciBuildRuns/{id}", Api.get_run, RUN_ONE),
    _route("/v1/ciBuildRuns/{id}/actions", Api.list_actions, {**ACTION_ONE, "limit": 200}),
    _route("/v1/ciBuildRuns/{id}/builds", Api.list_run_builds, _listing("builds")),
    _route("/v1/ciBuildActions/{id}", Api.get_action, ACTION_ONE),
    _route("/v1/ciBuildActions/{id}/buildRun", Api.get_action_run, RUN_ONE),
    _route("/v1/ciBuildActions/{id}/artifacts", Api.list_artifacts, _listing("ciArtifacts")),
    _route("/v1/ciBuildActions/{id}/issues", Api.list_issues, _listing("ciIssues")),
    _route("/v1/ciBuildActions/{id}/testResults", Api.list_test_results, _listing("ciTestResults")),
    _route("/v1/ciArtifacts/{id}", Api.get_artifact, {"fields": ["ciArtifacts"]}),
    *[
        _route(f"/v1/{kind}/{{id}}", partial(Api.get_one, kind=kind), {"fields": [kind]})
        for kind in SINGLE_KINDS
    ],
    *[
        _route(
            f"/v1/{parent}/{{id}}/relationships/({'|'.join(names)})",
            partial(Api.relationship, parent=parent),
            parameters,
        )
        for relationships, parameters in ((TO_MANY, {"limit": 200}), (TO_ONE, {}))
        for parent, names in relationships.items()
    ],
]


def find_route(path: str) -> tuple[Route, tuple[str, ...]] | None:
    for route in ROUTES:
        ids = route.match(path)
        if ids is not None:
            return route, ids
    return None
