"""The endpoints the simulator serves: paths, the parameters each allows, and their handlers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import documents
from .dataset import Dataset
from .errors import not_found
from .query import Request
from .records import SimAction, SimProduct, SimRun, SimWorkflow
from .renderers import Renderer

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


class Api:
    """The handlers: each takes the parsed request and the ids in the path."""

    def __init__(self, dataset: Dataset, download_url: Callable[[str, str], str]):
        self.dataset = dataset
        self.download_url = download_url

    def renderer(self, request: Request) -> Renderer:
        return Renderer(request, self.dataset, self.download_url)

    def list_products(self, request: Request) -> Document:
        products = list(self.dataset.products)
        wanted = request.query.get("filter[productType]")
        if wanted:
            products = [p for p in products if p.product_type in wanted.split(",")]
        if request.query.get("sort", "").endswith("latestBuildCreatedDate"):
            products.sort(
                key=lambda p: max(p.run_created, default=0),
                reverse=request.query["sort"].startswith("-"),
            )
        return documents.page(request, products, self.renderer(request).product)

    def get_product(self, request: Request, product_id: str) -> Document:
        product = self._product(product_id)
        return documents.single(request, self.renderer(request).product(product))

    def list_workflows(self, request: Request, product_id: str) -> Document:
        product = self._product(product_id)
        render = self.renderer(request)
        included = [render.product(product)] if "product" in request.include else []
        return documents.page(request, product.workflows, render.workflow, included)

    def get_workflow(self, request: Request, workflow_id: str) -> Document:
        workflow = self._workflow(workflow_id)
        render = self.renderer(request)
        included = [render.product(workflow.product)] if "product" in request.include else []
        return documents.single(request, render.workflow(workflow), included)

    def list_product_runs(self, request: Request, product_id: str) -> Document:
        return self._run_page(request, self.dataset.visible_runs(self._product(product_id)))

    def list_workflow_runs(self, request: Request, workflow_id: str) -> Document:
        workflow = self._workflow(workflow_id)
        return self._run_page(request, self.dataset.visible_runs(workflow.product, workflow))

    def _run_page(self, request: Request, runs: list[SimRun]) -> Document:
        render = self.renderer(request)
        return documents.run_page(request, runs, render.run, render.run_included)

    def get_run(self, request: Request, run_id: str) -> Document:
        run = self._run(run_id)
        render = self.renderer(request)
        return documents.single(request, render.run(run), render.run_included([run]))

    def list_actions(self, request: Request, run_id: str) -> Document:
        run = self._run(run_id)
        render = self.renderer(request)
        included = [render.run(run)] if "buildRun" in request.include else []
        return documents.page(request, run.actions, render.action, included)

    def get_action(self, request: Request, action_id: str) -> Document:
        action = self._action(action_id)
        render = self.renderer(request)
        included = [render.run(action.run)] if "buildRun" in request.include else []
        return documents.single(request, render.action(action), included)

    def list_artifacts(self, request: Request, action_id: str) -> Document:
        action = self._action(action_id)
        artifacts = self.dataset.visible_artifacts(action)
        return documents.page(request, artifacts, self.renderer(request).artifact)

    def get_artifact(self, request: Request, artifact_id: str) -> Document:
        artifact = self.dataset.artifacts.get(artifact_id)
        if artifact is None or artifact not in self.dataset.visible_artifacts(artifact.action):
            raise not_found("ciArtifacts", artifact_id)
        return documents.single(request, self.renderer(request).artifact(artifact))

    def _product(self, product_id: str) -> SimProduct:
        product = self.dataset.product(product_id)
        if product is None:
            raise not_found("ciProducts", product_id)
        return product

    def _workflow(self, workflow_id: str) -> SimWorkflow:
        workflow = self.dataset.workflows.get(workflow_id)
        if workflow is None:
            raise not_found("ciWorkflows", workflow_id)
        return workflow

    def _run(self, run_id: str) -> SimRun:
        run = self.dataset.runs.get(run_id)
        if run is None or not self.dataset.is_visible(run):
            raise not_found("ciBuildRuns", run_id)
        return run

    def _action(self, action_id: str) -> SimAction:
        action = self.dataset.actions.get(action_id)
        if action is None or not self.dataset.is_visible(action.run):
            raise not_found("ciBuildActions", action_id)
        return action


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    kind: str  # how Stats counts it: "ciProducts/buildRuns"
    handler: Callable[..., Document]  # an Api method, unbound
    parameters: dict[str, Any]  # what parse_request allows

    def match(self, path: str) -> tuple[str, ...] | None:
        found = self.pattern.fullmatch(path)
        return found.groups() if found else None


def _route(path: str, kind: str, handler: Callable[..., Document], parameters: dict) -> Route:
    return Route(re.compile(path.replace("{id}", "([^/]+)")), kind, handler, parameters)


ROUTES = [
    _route("/v1/ciProducts", "ciProducts", Api.list_products, PRODUCT_LIST),
    _route("/v1/ciProducts/{id}", "ciProducts/id", Api.get_product, PRODUCT_ONE),
    _route(
        "/v1/ciProducts/{id}/workflows",
        "ciProducts/workflows",
        Api.list_workflows,
        {**WORKFLOW_ONE, "limit": 200},
    ),
    _route(
        "/v1/ciProducts/{id}/buildRuns", "ciProducts/buildRuns", Api.list_product_runs, RUN_LIST
    ),
    _route("/v1/ciWorkflows/{id}", "ciWorkflows/id", Api.get_workflow, WORKFLOW_ONE),
    _route(
        "/v1/ciWorkflows/{id}/buildRuns", "ciWorkflows/buildRuns", Api.list_workflow_runs, RUN_LIST
    ),
    _route("/v1/ciBuildRuns/{id}", "ciBuildRuns/id", Api.get_run, RUN_ONE),
    _route(
        "/v1/ciBuildRuns/{id}/actions",
        "ciBuildRuns/actions",
        Api.list_actions,
        {**ACTION_ONE, "limit": 200},
    ),
    _route("/v1/ciBuildActions/{id}", "ciBuildActions/id", Api.get_action, ACTION_ONE),
    _route(
        "/v1/ciBuildActions/{id}/artifacts",
        "ciBuildActions/artifacts",
        Api.list_artifacts,
        {"limit": 200, "fields": ["ciArtifacts"]},
    ),
    _route("/v1/ciArtifacts/{id}", "ciArtifacts/id", Api.get_artifact, {"fields": ["ciArtifacts"]}),
]


def find_route(path: str) -> tuple[Route, tuple[str, ...]] | None:
    for route in ROUTES:
        ids = route.match(path)
        if ids is not None:
            return route, ids
    return None
