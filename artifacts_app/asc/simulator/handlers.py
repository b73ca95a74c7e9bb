"""What each endpoint answers: the handlers behind the routes, one per kind of request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import documents
from .catalog import MACOS, XCODE
from .dataset import Dataset
from .documents import linkage
from .errors import not_found
from .query import Request
from .records import SimAction, SimProduct, SimRun, SimWorkflow
from .renderers import Renderer

Document = dict[str, Any]


class Api:
    """The handlers: each takes the parsed request and the ids in the path."""

    def __init__(self, dataset: Dataset, download_url: Callable[[str, str], str]):
        self.dataset = dataset
        self.download_url = download_url

    def renderer(self, request: Request) -> Renderer:
        return Renderer(request, self.dataset, self.download_url)

    # --- products and workflows ---------------------------------------------------------

    def list_products(self, request: Request) -> Document:
        products = list(self.dataset.products)
        wanted = request.query.get("filter[productType]")
        if wanted:
            products = [p for p in products if p.product_type in wanted.split(",")]
        apps = request.query.get("filter[app]")
        if apps:
            products = [p for p in products if p.app and p.app.id in apps.split(",")]
        if request.query.get("sort", "").endswith("latestBuildCreatedDate"):
            products.sort(
                key=lambda p: max(p.run_created, default=0),
                reverse=request.query["sort"].startswith("-"),
            )
        render = self.renderer(request)
        return documents.page(request, products, render.product, render.product_included)

    def get_product(self, request: Request, product_id: str) -> Document:
        product = self._product(product_id)
        render = self.renderer(request)
        return documents.single(
            request, render.product(product), render.product_included([product])
        )

    def get_product_app(self, request: Request, product_id: str) -> Document:
        app = self._product(product_id).app
        if app is None:
            raise not_found("apps", f"of product {product_id}")
        return documents.single(request, self.renderer(request).app(app))

    def list_primary_repositories(self, request: Request, product_id: str) -> Document:
        repositories = [self._product(product_id).repository]
        return documents.page(request, repositories, self.renderer(request).repository)

    def list_additional_repositories(self, request: Request, product_id: str) -> Document:
        self._product(product_id)
        return documents.page(request, [], self.renderer(request).repository)

    def list_workflows(self, request: Request, product_id: str) -> Document:
        product = self._product(product_id)
        render = self.renderer(request)
        return documents.page(request, product.workflows, render.workflow, render.workflow_included)

    def get_workflow(self, request: Request, workflow_id: str) -> Document:
        workflow = self._workflow(workflow_id)
        render = self.renderer(request)
        return documents.single(
            request, render.workflow(workflow), render.workflow_included([workflow])
        )

    def get_workflow_repository(self, request: Request, workflow_id: str) -> Document:
        repository = self._workflow(workflow_id).product.repository
        return documents.single(request, self.renderer(request).repository(repository))

    # --- runs, actions, artifacts -------------------------------------------------------

    def list_product_runs(self, request: Request, product_id: str) -> Document:
        return self._run_page(request, self.dataset.visible_runs(self._product(product_id)))

    def list_workflow_runs(self, request: Request, workflow_id: str) -> Document:
        workflow = self._workflow(workflow_id)
        return self._run_page(request, self.dataset.visible_runs(workflow.product, workflow))

    def _run_page(self, request: Request, runs: list[SimRun]) -> Document:
        if request.query.get("filter[builds]"):
            runs = []  # simulated runs deliver no builds, so none matches
        render = self.renderer(request)
        return documents.run_page(request, runs, render.run, render.run_included)

    def get_run(self, request: Request, run_id: str) -> Document:
        return self._one_run(request, self._run(run_id))

    def get_action_run(self, request: Request, action_id: str) -> Document:
        return self._one_run(request, self._action(action_id).run)

    def _one_run(self, request: Request, run: SimRun) -> Document:
        render = self.renderer(request)
        return documents.single(request, render.run(run), render.run_included([run]))

    def list_run_builds(self, request: Request, run_id: str) -> Document:
        self._run(run_id)  # simulated runs deliver no builds to App Store Connect
        return documents.page(request, [], lambda _build: {})

    def list_actions(self, request: Request, run_id: str) -> Document:
        run = self._run(run_id)
        render = self.renderer(request)
        return documents.page(request, run.actions, render.action, self._with_run(render))

    def get_action(self, request: Request, action_id: str) -> Document:
        action = self._action(action_id)
        render = self.renderer(request)
        included = self._with_run(render)([action])
        return documents.single(request, render.action(action), included)

    def _with_run(self, render: Renderer) -> Callable[[list[SimAction]], list[Document]]:
        def included(actions: list[SimAction]) -> list[Document]:
            if "buildRun" not in render.request.include or not actions:
                return []
            return [render.run(actions[0].run)]

        return included

    def list_artifacts(self, request: Request, action_id: str) -> Document:
        artifacts = self.dataset.visible_artifacts(self._action(action_id))
        return documents.page(request, artifacts, self.renderer(request).artifact)

    def get_artifact(self, request: Request, artifact_id: str) -> Document:
        artifact = self.dataset.artifacts.get(artifact_id)
        if artifact is None or artifact not in self.dataset.visible_artifacts(artifact.action):
            raise not_found("ciArtifacts", artifact_id)
        return documents.single(request, self.renderer(request).artifact(artifact))

    def list_issues(self, request: Request, action_id: str) -> Document:
        issues = self.dataset.issues_of(self._action(action_id))
        return documents.page(request, issues, self.renderer(request).issue)

    def list_test_results(self, request: Request, action_id: str) -> Document:
        results = self.dataset.test_results_of(self._action(action_id))
        return documents.page(request, results, self.renderer(request).test_result)

    # --- single resources of other types ------------------------------------------------

    def get_one(self, request: Request, resource_id: str, kind: str) -> Document:
        render = self.renderer(request)
        dataset = self.dataset
        renderers: dict[str, tuple[Any, Callable[[Any], Document]]] = {
            "scmRepositories": (dataset.repositories.get(resource_id), render.repository),
            "scmGitReferences": (dataset.refs.get(resource_id), render.git_ref),
            "scmPullRequests": (dataset.pull_requests.get(resource_id), render.pull_request),
            "ciIssues": (dataset.issues.get(resource_id), render.issue),
            "ciTestResults": (dataset.test_results.get(resource_id), render.test_result),
        }
        versions = {"ciXcodeVersions": XCODE, "ciMacOsVersions": MACOS}
        if kind in versions:
            version = versions[kind]
            found = version if version.id == resource_id else None
            renderers[kind] = (found, lambda v: render.tool_version(kind, v))
        record, render_one = renderers[kind]
        if record is None:
            raise not_found(kind, resource_id)
        return documents.single(request, render_one(record))

    # --- relationships/... linkage documents --------------------------------------------

    def relationship(self, request: Request, parent_id: str, name: str, parent: str) -> Document:
        """``{"data": [{"type", "id"}], "links", "meta"}`` (one ``data`` for a to-one)."""
        kind, related = self._related(parent, parent_id, name)
        if isinstance(related, list):
            return documents.page(request, related, lambda r: linkage(kind, r.id))
        return {"data": linkage(kind, related.id), "links": {"self": documents.self_link(request)}}

    def _related(self, parent: str, parent_id: str, name: str) -> tuple[str, Any]:
        dataset = self.dataset
        if parent == "ciProducts":
            product = self._product(parent_id)
            if name == "app" and product.app is None:
                raise not_found("apps", f"of product {parent_id}")
            return {
                "app": ("apps", product.app),
                "workflows": ("ciWorkflows", product.workflows),
                "primaryRepositories": ("scmRepositories", [product.repository]),
                "additionalRepositories": ("scmRepositories", []),
                "buildRuns": ("ciBuildRuns", dataset.visible_runs(product)),
            }[name]
        if parent == "ciWorkflows":
            workflow = self._workflow(parent_id)
            if name == "repository":
                return "scmRepositories", workflow.product.repository
            return "ciBuildRuns", dataset.visible_runs(workflow.product, workflow)
        if parent == "ciBuildRuns":
            run = self._run(parent_id)
            return ("ciBuildActions", run.actions) if name == "actions" else ("builds", [])
        action = self._action(parent_id)
        return {
            "buildRun": ("ciBuildRuns", action.run),
            "artifacts": ("ciArtifacts", dataset.visible_artifacts(action)),
            "issues": ("ciIssues", dataset.issues_of(action)),
            "testResults": ("ciTestResults", dataset.test_results_of(action)),
        }[name]

    # --- lookups ------------------------------------------------------------------------

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
