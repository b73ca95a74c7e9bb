"""Each simulated record as Apple renders it: attributes, relationships, links, sparse fields."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from .dataset import Dataset
from .documents import Resource
from .query import Request
from .records import SimAction, SimArtifact, SimGitRef, SimProduct, SimRun, SimWorkflow


class Renderer:
    """Renders records for one request (its base URL, ``fields[...]`` and ``include``)."""

    def __init__(self, request: Request, dataset: Dataset, download_url: Callable[[str, str], str]):
        self.request = request
        self.dataset = dataset
        self.download_url = download_url

    def resource(
        self,
        kind: str,
        resource_id: str,
        attributes: dict[str, Any],
        relationships: dict[str, Any] | None = None,
    ) -> Resource:
        wanted = self.request.fields.get(kind)
        resource: Resource = {"type": kind, "id": resource_id}
        resource["attributes"] = {
            k: v for k, v in attributes.items() if wanted is None or k in wanted
        }
        if relationships:
            kept = {k: v for k, v in relationships.items() if wanted is None or k in wanted}
            if kept:
                resource["relationships"] = kept
        resource["links"] = {"self": f"{self.request.base}/v1/{kind}/{resource_id}"}
        return resource

    def links(self, kind: str, resource_id: str, name: str) -> dict[str, Any]:
        base = f"{self.request.base}/v1/{kind}/{resource_id}"
        return {"links": {"self": f"{base}/relationships/{name}", "related": f"{base}/{name}"}}

    def product(self, product: SimProduct) -> Resource:
        attributes = {
            "name": product.name,
            "createdDate": iso(product.created),
            "productType": product.product_type,
        }
        relationships = {
            name: self.links("ciProducts", product.id, name)
            for name in (
                "app",
                "workflows",
                "primaryRepositories",
                "additionalRepositories",
                "buildRuns",
            )
        }
        return self.resource("ciProducts", product.id, attributes, relationships)

    def workflow(self, workflow: SimWorkflow) -> Resource:
        attributes = {
            "name": workflow.name,
            "description": workflow.description,
            "actions": [
                {
                    "name": name,
                    "actionType": action_type,
                    "scheme": workflow.product.name,
                    "platform": "IOS",
                    "isRequiredToPass": True,
                }
                for name, action_type in workflow.action_specs
            ],
            "isEnabled": workflow.is_enabled,
            "isLockedForEditing": False,
            "clean": workflow.kind == "release",
            "containerFilePath": "App.xcodeproj",
            "lastModifiedDate": iso(workflow.last_modified),
        }
        relationships = {
            "product": {"data": {"type": "ciProducts", "id": workflow.product.id}},
            "buildRuns": self.links("ciWorkflows", workflow.id, "buildRuns"),
        }
        return self.resource("ciWorkflows", workflow.id, attributes, relationships)

    def run(self, run: SimRun) -> Resource:
        progress = run.progress(self.dataset.now_ts)
        complete = progress == "COMPLETE"
        attributes = {
            "number": run.number,
            "createdDate": iso(run.created),
            "startedDate": iso(run.started()) if progress != "PENDING" else None,
            "finishedDate": iso(run.finished()) if complete else None,
            "sourceCommit": _commit(run.commit_sha, run.message, run.author),
            "destinationCommit": _commit(run.destination_sha, "Merge base", run.author)
            if run.destination_sha
            else None,
            "isPullRequestBuild": run.is_pull_request,
            "issueCounts": issue_counts(a.issues for a in run.actions) if complete else None,
            "executionProgress": progress,
            "completionStatus": run.outcome if complete else None,
            "startReason": run.start_reason,
            "cancelReason": run.cancel_reason if complete else None,
        }
        if attributes["destinationCommit"] is None:
            del attributes["destinationCommit"]
        relationships: dict[str, Any] = {
            "builds": self.links("ciBuildRuns", run.id, "builds"),
            "actions": self.links("ciBuildRuns", run.id, "actions"),
        }
        linked = {
            "workflow": ("ciWorkflows", run.workflow.id),
            "product": ("ciProducts", run.product.id),
            "sourceBranchOrTag": ("scmGitReferences", run.source_ref.id),
        }
        if run.destination_ref is not None:
            linked["destinationBranch"] = ("scmGitReferences", run.destination_ref.id)
        for name, (kind, resource_id) in linked.items():
            if name in self.request.include:
                relationships[name] = {"data": {"type": kind, "id": resource_id}}
        return self.resource("ciBuildRuns", run.id, attributes, relationships)

    def run_included(self, runs: list[SimRun]) -> list[Resource]:
        include = self.request.include
        included: dict[tuple[str, str], Resource] = {}
        for run in runs:
            if "workflow" in include:
                included[("w", run.workflow.id)] = self.workflow(run.workflow)
            if "product" in include:
                included[("p", run.product.id)] = self.product(run.product)
            refs = []
            if "sourceBranchOrTag" in include:
                refs.append(run.source_ref)
            if "destinationBranch" in include and run.destination_ref is not None:
                refs.append(run.destination_ref)
            for ref in refs:
                included[("r", ref.id)] = self.git_ref(ref)
        return list(included.values())

    def git_ref(self, ref: SimGitRef) -> Resource:
        attributes = {
            "name": ref.name,
            "canonicalName": ref.canonical_name,
            "isDeleted": False,
            "kind": ref.kind,
        }
        return self.resource("scmGitReferences", ref.id, attributes)

    def action(self, action: SimAction) -> Resource:
        progress = action.progress(self.dataset.now_ts)
        complete = progress == "COMPLETE"
        attributes = {
            "name": action.name,
            "actionType": action.action_type,
            "startedDate": iso(action.started()) if progress != "PENDING" else None,
            "finishedDate": iso(action.finished()) if complete else None,
            "issueCounts": issue_counts([action.issues]) if complete else None,
            "executionProgress": progress,
            "completionStatus": action.outcome if complete else None,
            "isRequiredToPass": action.is_required,
        }
        relationships = {
            name: self.links("ciBuildActions", action.id, name)
            for name in ("buildRun", "artifacts", "issues", "testResults")
        }
        if "buildRun" in self.request.include:
            relationships["buildRun"]["data"] = {"type": "ciBuildRuns", "id": action.run.id}
        return self.resource("ciBuildActions", action.id, attributes, relationships)

    def artifact(self, artifact: SimArtifact) -> Resource:
        attributes = {
            "fileType": artifact.file_type,
            "fileName": artifact.file_name,
            "fileSize": artifact.file_size,
            "downloadUrl": self.download_url(self.request.base, artifact.id),
        }
        return self.resource("ciArtifacts", artifact.id, attributes)


def iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _commit(sha: str | None, message: str, author: str) -> dict[str, Any]:
    return {
        "commitSha": sha,
        "message": message,
        "author": {"displayName": author},
        "committer": {"displayName": author},
        "webUrl": f"https://git.example.com/commit/{sha}",
    }


def issue_counts(issues: Iterable[tuple[int, int, int, int]]) -> dict[str, int]:
    totals = [sum(column) for column in zip(*issues, strict=True)] or [0, 0, 0, 0]
    return {
        "analyzerWarnings": totals[0],
        "errors": totals[1],
        "testFailures": totals[2],
        "warnings": totals[3],
    }
