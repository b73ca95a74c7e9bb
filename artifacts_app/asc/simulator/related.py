"""Resources around Xcode Cloud's own: apps, bundle ids, repositories, pull requests, Xcode and
macOS versions, issues and test results; and what every rendered resource shares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .dataset import Dataset
from .documents import Resource, iso
from .query import Request
from .records import (
    SimApp,
    SimIssue,
    SimPullRequest,
    SimRepository,
    SimTestResult,
    SimToolVersion,
)

ALL_BRANCHES = {"isAllMatch": True, "patterns": []}
MAIN = {"isAllMatch": False, "patterns": [{"pattern": "main", "isPrefix": False}]}
# What starts a workflow of each kind in the simulated account.
START_CONDITIONS: dict[str, dict[str, Any]] = {
    "ci": {
        "branchStartCondition": {
            "source": {
                "isAllMatch": False,
                "patterns": [
                    {"pattern": "main", "isPrefix": False},
                    {"pattern": "release/", "isPrefix": True},
                ],
            },
            "autoCancel": True,
        }
    },
    "pr": {
        "pullRequestStartCondition": {
            "source": ALL_BRANCHES,
            "destination": MAIN,
            "autoCancel": True,
        }
    },
    "release": {
        "tagStartCondition": {
            "source": {"isAllMatch": False, "patterns": [{"pattern": "v", "isPrefix": True}]},
            "autoCancel": False,
        }
    },
    "nightly": {
        "scheduledStartCondition": {
            "source": MAIN,
            "schedule": {"frequency": "DAILY", "hour": 2, "minute": 0, "timezone": "UTC"},
        }
    },
}


class BaseRenderer:
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
        served: bool = True,
    ) -> Resource:
        """``served``: whether the simulator answers the resource's own URL (then linked)."""
        wanted = self.request.fields.get(kind)
        resource: Resource = {"type": kind, "id": resource_id}
        resource["attributes"] = {
            k: v for k, v in attributes.items() if wanted is None or k in wanted
        }
        if relationships:
            kept = {k: v for k, v in relationships.items() if wanted is None or k in wanted}
            if kept:
                resource["relationships"] = kept
        if served:
            resource["links"] = {"self": f"{self.request.base}/v1/{kind}/{resource_id}"}
        return resource

    def links(self, kind: str, resource_id: str, name: str) -> dict[str, Any]:
        base = f"{self.request.base}/v1/{kind}/{resource_id}"
        return {"links": {"self": f"{base}/relationships/{name}", "related": f"{base}/{name}"}}

    # Apps and bundle ids belong to the rest of App Store Connect: not served, so not linked.

    def app(self, app: SimApp) -> Resource:
        attributes = {
            "name": app.name,
            "bundleId": app.bundle_identifier,
            "sku": app.sku,
            "primaryLocale": "en-US",
        }
        return self.resource("apps", app.id, attributes, served=False)

    def bundle_id(self, app: SimApp) -> Resource:
        attributes = {
            "name": app.name,
            "platform": "IOS",
            "identifier": app.bundle_identifier,
            "seedId": app.seed_id,
        }
        return self.resource("bundleIds", app.bundle_record_id, attributes, served=False)

    def repository(self, repository: SimRepository) -> Resource:
        attributes = {
            "lastAccessedDate": iso(repository.last_accessed),
            "httpCloneUrl": repository.http_clone_url,
            "sshCloneUrl": repository.ssh_clone_url,
            "ownerName": repository.owner,
            "repositoryName": repository.name,
        }
        return self.resource("scmRepositories", repository.id, attributes)

    def pull_request(self, pull_request: SimPullRequest) -> Resource:
        repository = pull_request.repository
        attributes = {
            "title": pull_request.title,
            "number": pull_request.number,
            "webUrl": pull_request.web_url,
            "sourceRepositoryOwner": repository.owner,
            "sourceRepositoryName": repository.name,
            "sourceBranchName": pull_request.source.name,
            "destinationRepositoryOwner": repository.owner,
            "destinationRepositoryName": repository.name,
            "destinationBranchName": pull_request.destination.name,
            "isClosed": False,
            "isCrossRepository": False,
        }
        return self.resource("scmPullRequests", pull_request.id, attributes)

    def tool_version(self, kind: str, version: SimToolVersion) -> Resource:
        attributes = {"version": version.version, "name": version.name}
        return self.resource(kind, version.id, attributes)

    def issue(self, issue: SimIssue) -> Resource:
        attributes = {
            "issueType": issue.issue_type,
            "message": issue.message,
            "fileSource": {"path": issue.path, "lineNumber": issue.line},
            "category": issue.issue_type.replace("_", " ").title(),
        }
        return self.resource("ciIssues", issue.id, attributes)

    def test_result(self, result: SimTestResult) -> Resource:
        attributes = {
            "className": result.class_name,
            "name": result.name,
            "status": result.status,
            "fileSource": {"path": f"AppTests/{result.class_name}.swift", "lineNumber": 12},
            "message": result.message,
            "destinationTestResults": [
                {
                    "uuid": f"{result.id[:-2]}{position:02d}",
                    "deviceName": device,
                    "osVersion": os_version,
                    "status": result.status,
                    "duration": result.duration,
                }
                for position, (device, os_version) in enumerate(TEST_DESTINATIONS)
            ],
        }
        return self.resource("ciTestResults", result.id, attributes)


TEST_DESTINATIONS = [("iPhone 16", "18.5"), ("iPad Air 11-inch (M3)", "18.5")]
