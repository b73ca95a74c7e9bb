"""Query parameters, checked as Apple checks them: each endpoint allows its own set."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from .errors import invalid

# Attribute and relationship names per resource type, from Apple's spec (for fields[...]).
FIELDS = {
    "ciProducts": [
        "name",
        "createdDate",
        "productType",
        "app",
        "bundleId",
        "workflows",
        "primaryRepositories",
        "additionalRepositories",
        "buildRuns",
    ],
    "ciWorkflows": [
        "name",
        "description",
        "branchStartCondition",
        "tagStartCondition",
        "pullRequestStartCondition",
        "scheduledStartCondition",
        "manualBranchStartCondition",
        "manualTagStartCondition",
        "manualPullRequestStartCondition",
        "actions",
        "isEnabled",
        "isLockedForEditing",
        "clean",
        "containerFilePath",
        "lastModifiedDate",
        "product",
        "repository",
        "xcodeVersion",
        "macOsVersion",
        "buildRuns",
    ],
    "ciBuildRuns": [
        "number",
        "createdDate",
        "startedDate",
        "finishedDate",
        "sourceCommit",
        "destinationCommit",
        "isPullRequestBuild",
        "issueCounts",
        "executionProgress",
        "completionStatus",
        "startReason",
        "cancelReason",
        "builds",
        "workflow",
        "product",
        "sourceBranchOrTag",
        "destinationBranch",
        "actions",
        "pullRequest",
    ],
    "ciBuildActions": [
        "name",
        "actionType",
        "startedDate",
        "finishedDate",
        "issueCounts",
        "executionProgress",
        "completionStatus",
        "isRequiredToPass",
        "buildRun",
        "artifacts",
        "issues",
        "testResults",
    ],
    "ciArtifacts": ["fileType", "fileName", "fileSize", "downloadUrl"],
    "scmGitReferences": ["name", "canonicalName", "isDeleted", "kind", "repository"],
    "scmRepositories": [
        "lastAccessedDate",
        "httpCloneUrl",
        "sshCloneUrl",
        "ownerName",
        "repositoryName",
        "scmProvider",
        "defaultBranch",
        "gitReferences",
        "pullRequests",
    ],
    "scmPullRequests": [
        "title",
        "number",
        "webUrl",
        "sourceRepositoryOwner",
        "sourceRepositoryName",
        "sourceBranchName",
        "destinationRepositoryOwner",
        "destinationRepositoryName",
        "destinationBranchName",
        "isClosed",
        "isCrossRepository",
        "repository",
    ],
    "ciXcodeVersions": ["version", "name", "testDestinations", "macOsVersions"],
    "ciMacOsVersions": ["version", "name", "xcodeVersions"],
    "ciIssues": ["issueType", "message", "fileSource", "category"],
    "ciTestResults": [
        "className",
        "name",
        "status",
        "fileSource",
        "message",
        "destinationTestResults",
    ],
}


INCLUDED_LIMIT = 50  # Apple's maximum for limit[relationship]


@dataclass
class Request:
    base: str  # scheme://host
    path: str
    query: dict[str, str]
    fields: dict[str, set[str]]
    include: set[str]

    @property
    def limit(self) -> int:
        return int(self.query.get("limit", 50))


def parse_request(environ: dict[str, Any], spec: dict[str, Any]) -> Request:
    """The request's parameters, or Apple's 400 naming the first one ``spec`` does not allow.

    ``spec`` lists what the endpoint takes: ``limit`` (its maximum), ``include`` and ``sort``
    values, ``fields`` types, and ``extra`` parameters accepted as they are.
    """
    query = _single_values(environ.get("QUERY_STRING", ""))
    fields: dict[str, set[str]] = {}
    include: set[str] = set()
    for name, value in query.items():
        if name == "cursor" and "limit" in spec:
            continue
        if name == "limit" and "limit" in spec:
            if not value.isdigit() or not 1 <= int(value) <= spec["limit"]:
                raise invalid(
                    name,
                    f"'{value}' is not a valid value for 'limit': "
                    f"use an integer from 1 to {spec['limit']}",
                )
        elif name == "include" and "include" in spec:
            include = set(value.split(","))
            bad = include - set(spec["include"])
            if bad:
                raise invalid(name, f"'{sorted(bad)[0]}' is not a valid relationship name")
        elif name == "sort" and "sort" in spec:
            if value not in spec["sort"]:
                raise invalid(name, f"'{value}' is not a valid sort field")
        elif name.startswith("fields[") and name[7:-1] in spec.get("fields", []):
            kind = name[7:-1]
            fields[kind] = _field_names(name, kind, value)
        elif name.startswith("limit[") and name in spec.get("extra", []):
            if not value.isdigit() or not 1 <= int(value) <= INCLUDED_LIMIT:
                raise invalid(
                    name,
                    f"'{value}' is not a valid value for '{name}': "
                    f"use an integer from 1 to {INCLUDED_LIMIT}",
                )
        elif name not in spec.get("extra", []):
            raise invalid(
                name,
                f"The parameter '{name}' can not be used with this request",
                "PARAMETER_ERROR.ILLEGAL",
            )
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return Request(f"{scheme}://{host}", environ.get("PATH_INFO", ""), query, fields, include)


def _single_values(query_string: str) -> dict[str, str]:
    query: dict[str, str] = {}
    for name, values in parse_qs(query_string, keep_blank_values=True).items():
        if len(values) > 1:
            raise invalid(
                name,
                f"The parameter '{name}' was given more than once",
                "PARAMETER_ERROR.DUPLICATE",
            )
        query[name] = values[0]
    return query


def _field_names(parameter: str, kind: str, value: str) -> set[str]:
    wanted = set(value.split(","))
    known = FIELDS.get(kind)
    if known is not None and wanted - set(known):
        unknown = sorted(wanted - set(known))[0]
        raise invalid(parameter, f"'{unknown}' is not a valid field name for {kind}")
    return wanted


def encode_cursor(cursor: dict[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")


def decode_cursor(value: str | None, key: str, default: Any = 0) -> Any:
    if value is None:
        return default
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        return int(data[key])
    except (ValueError, KeyError, TypeError):
        raise invalid("cursor", f"'{value}' is not a valid cursor") from None
