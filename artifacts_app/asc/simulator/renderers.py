"""Each simulated record as Apple renders it: attributes, relationships, links, sparse fields."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .catalog import MACOS, XCODE
from .documents import Resource, iso, linkage
from .records import SimAction, SimArtifact, SimGitRef, SimProduct, SimRun, SimWorkflow
from .related import ALL_BRANCHES, START_CONDITIONS, BaseRenderer


class Renderer(BaseRenderer):
    """Xcode Cloud's own resources: products, workflows, runs, actions, artifacts."""

    def product(self, product: SimProduct) -> Resource:
        attributes = {
            "name": product.name,
            "createdDate": iso(product.created),
            "productType": product.product_type,
        }
        names = ["workflows", "primaryRepositories", "additionalRepositories", "buildRuns"]
        if product.app is not None:
            names.insert(0, "app")
        relationships = {name: self.links("ciProducts", product.id, name) for name in names}
        include = self.request.include
        if product.app is not None:
            if "app" in include:
                relationships["app"]["data"] = linkage("apps", product.app.id)
            if "bundleId" in include:
                bundle = linkage("bundleIds", product.app.bundle_record_id)
                relationships["bundleId"] = {"data": bundle}
        if "primaryRepositories" in include:
            repositories = relationships["primaryRepositories"]
            repositories["data"] = [linkage("scmRepositories", product.repository.id)]
            repositories["meta"] = {"paging": {"total": 1, "limit": 50}}
        return self.resource("ciProducts", product.id, attributes, relationships)

    def product_included(self, products: list[SimProduct]) -> list[Resource]:
        include = self.request.include
        included: list[Resource] = []
        for product in products:
            if product.app is not None and "app" in include:
                included.append(self.app(product.app))
            if product.app is not None and "bundleId" in include:
                included.append(self.bundle_id(product.app))
            if "primaryRepositories" in include:
                included.append(self.repository(product.repository))
        return included

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
            **START_CONDITIONS[workflow.kind],
            "manualBranchStartCondition": {"source": ALL_BRANCHES},
        }
        repository = self.links("ciWorkflows", workflow.id, "repository")
        repository["data"] = linkage("scmRepositories", workflow.product.repository.id)
        relationships = {
            "product": {"data": linkage("ciProducts", workflow.product.id)},
            "repository": repository,
            "xcodeVersion": {"data": linkage("ciXcodeVersions", XCODE.id)},
            "macOsVersion": {"data": linkage("ciMacOsVersions", MACOS.id)},
            "buildRuns": self.links("ciWorkflows", workflow.id, "buildRuns"),
        }
        return self.resource("ciWorkflows", workflow.id, attributes, relationships)

    def workflow_included(self, workflows: list[SimWorkflow]) -> list[Resource]:
        include = self.request.include
        included: dict[str, Resource] = {}
        for workflow in workflows:
            if "product" in include:
                included[workflow.product.id] = self.product(workflow.product)
            if "repository" in include:
                repository = workflow.product.repository
                included[repository.id] = self.repository(repository)
        if workflows and "xcodeVersion" in include:
            included[XCODE.id] = self.tool_version("ciXcodeVersions", XCODE)
        if workflows and "macOsVersion" in include:
            included[MACOS.id] = self.tool_version("ciMacOsVersions", MACOS)
        return list(included.values())

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
        if run.pull_request is not None:
            linked["pullRequest"] = ("scmPullRequests", run.pull_request.id)
        for name, (kind, resource_id) in linked.items():
            if name in self.request.include:
                relationships[name] = {"data": linkage(kind, resource_id)}
        if "builds" in self.request.include:  # runs here deliver no builds to App Store Connect
            relationships["builds"]["data"] = []
            relationships["builds"]["meta"] = {"paging": {"total": 0, "limit": 50}}
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
            if "pullRequest" in include and run.pull_request is not None:
                included[("pr", run.pull_request.id)] = self.pull_request(run.pull_request)
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
            relationships["buildRun"]["data"] = linkage("ciBuildRuns", action.run.id)
        return self.resource("ciBuildActions", action.id, attributes, relationships)

    def artifact(self, artifact: SimArtifact) -> Resource:
        attributes = {
            "fileType": artifact.file_type,
            "fileName": artifact.file_name,
            "fileSize": artifact.file_size,
            "downloadUrl": self.download_url(self.request.base, artifact.id),
        }
        return self.resource("ciArtifacts", artifact.id, attributes)


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
