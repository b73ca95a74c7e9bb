"""Small typed records for App Store Connect's Xcode Cloud resources.

This is the only module that knows Apple's JSON:API field names. Everything
downstream (sync, archive, tests) works with these records.

Apple returns ``null`` for many attributes of runs and actions that have not
finished, although the OpenAPI spec marks none of them nullable, so every
such field here is optional. Enum values are kept as plain strings: a value
Apple adds later must flow through, not crash a sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def parse_datetime(value: str | None) -> datetime | None:
    """Parse Apple's ISO 8601 timestamps ("2021-08-17T17:48:11.806Z") to aware datetimes."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class IssueCounts:
    analyzer_warnings: int = 0
    errors: int = 0
    test_failures: int = 0
    warnings: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> IssueCounts | None:
        if data is None:
            return None
        return cls(
            analyzer_warnings=data.get("analyzerWarnings") or 0,
            errors=data.get("errors") or 0,
            test_failures=data.get("testFailures") or 0,
            warnings=data.get("warnings") or 0,
        )


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str = ""
    author: str = ""
    web_url: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Commit | None:
        if not data or not data.get("commitSha"):
            return None
        author = data.get("author") or {}
        return cls(
            sha=data["commitSha"],
            message=data.get("message") or "",
            author=author.get("displayName") or "",
            web_url=data.get("webUrl") or "",
        )


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    product_type: str | None = None  # APP, FRAMEWORK, or a later value
    created_date: datetime | None = None


@dataclass(frozen=True)
class Workflow:
    id: str
    product_id: str
    name: str
    description: str = ""
    is_enabled: bool | None = None
    last_modified_date: datetime | None = None


@dataclass(frozen=True)
class BuildRun:
    id: str
    number: int
    created_date: datetime | None
    product_id: str
    workflow_id: str | None = None
    started_date: datetime | None = None
    finished_date: datetime | None = None
    execution_progress: str | None = None  # PENDING, RUNNING, COMPLETE
    completion_status: str | None = None  # SUCCEEDED, FAILED, ERRORED, CANCELED, SKIPPED
    start_reason: str | None = None
    cancel_reason: str | None = None
    is_pull_request_build: bool | None = None
    issue_counts: IssueCounts | None = None
    source_commit: Commit | None = None
    destination_commit: Commit | None = None
    # From the included scmGitReferences: the branch or tag built, and its kind.
    source_ref_name: str | None = None
    source_ref_kind: str | None = None  # BRANCH or TAG
    destination_branch_name: str | None = None
    # From the included scmPullRequests, for a pull-request build.
    pull_request_number: int | None = None
    pull_request_title: str | None = None
    pull_request_url: str | None = None

    @property
    def is_finished(self) -> bool:
        return self.execution_progress == "COMPLETE"


@dataclass(frozen=True)
class BuildAction:
    id: str
    build_run_id: str
    name: str
    action_type: str | None = None  # BUILD, ANALYZE, TEST, ARCHIVE
    started_date: datetime | None = None
    finished_date: datetime | None = None
    execution_progress: str | None = None
    completion_status: str | None = None
    is_required_to_pass: bool | None = None
    issue_counts: IssueCounts | None = None


@dataclass(frozen=True)
class Artifact:
    id: str
    build_action_id: str
    file_type: str | None
    file_name: str
    file_size: int | None
    # Pre-signed and short-lived: never store it as if it were permanent, never log it.
    download_url: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with the verbatim ``links.next`` to resume from."""

    items: list[T]
    next_url: str | None


# --- JSON:API documents -> records -------------------------------------------------------

IncludedIndex = dict[tuple[str, str], dict[str, Any]]


def index_included(document: dict[str, Any]) -> IncludedIndex:
    """Map (type, id) to each resource in a document's ``included`` list."""
    return {
        (item.get("type", ""), item.get("id", "")): item
        for item in document.get("included") or []
        if isinstance(item, dict)
    }


def _attributes(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("attributes") or {}


def _related_id(resource: dict[str, Any], name: str) -> str | None:
    relationship = (resource.get("relationships") or {}).get(name) or {}
    data = relationship.get("data")
    if isinstance(data, dict):
        return data.get("id")
    return None


def product_from_json(resource: dict[str, Any]) -> Product:
    attributes = _attributes(resource)
    return Product(
        id=resource["id"],
        name=attributes.get("name") or "",
        product_type=attributes.get("productType"),
        created_date=parse_datetime(attributes.get("createdDate")),
    )


def workflow_from_json(resource: dict[str, Any], product_id: str | None = None) -> Workflow:
    attributes = _attributes(resource)
    return Workflow(
        id=resource["id"],
        product_id=_related_id(resource, "product") or product_id or "",
        name=attributes.get("name") or "",
        description=attributes.get("description") or "",
        is_enabled=attributes.get("isEnabled"),
        last_modified_date=parse_datetime(attributes.get("lastModifiedDate")),
    )


def build_run_from_json(
    resource: dict[str, Any],
    included_index: IncludedIndex | None = None,
    product_id: str | None = None,
) -> BuildRun:
    """A run; branch and tag names come from included scmGitReferences when present."""
    attributes = _attributes(resource)
    included_index = included_index or {}
    source_ref = _git_reference(included_index, _related_id(resource, "sourceBranchOrTag"))
    destination = _git_reference(included_index, _related_id(resource, "destinationBranch"))
    pull_request = _attributes(
        included_index.get(("scmPullRequests", _related_id(resource, "pullRequest")), {})
    )
    return BuildRun(
        id=resource["id"],
        number=attributes.get("number") or 0,
        created_date=parse_datetime(attributes.get("createdDate")),
        product_id=_related_id(resource, "product") or product_id or "",
        workflow_id=_related_id(resource, "workflow"),
        started_date=parse_datetime(attributes.get("startedDate")),
        finished_date=parse_datetime(attributes.get("finishedDate")),
        execution_progress=attributes.get("executionProgress"),
        completion_status=attributes.get("completionStatus"),
        start_reason=attributes.get("startReason"),
        cancel_reason=attributes.get("cancelReason"),
        is_pull_request_build=attributes.get("isPullRequestBuild"),
        issue_counts=IssueCounts.from_json(attributes.get("issueCounts")),
        source_commit=Commit.from_json(attributes.get("sourceCommit")),
        destination_commit=Commit.from_json(attributes.get("destinationCommit")),
        source_ref_name=source_ref.get("name"),
        source_ref_kind=source_ref.get("kind"),
        destination_branch_name=destination.get("name"),
        pull_request_number=pull_request.get("number"),
        pull_request_title=pull_request.get("title"),
        pull_request_url=pull_request.get("webUrl"),
    )


def _git_reference(included_index: IncludedIndex, ref_id: str | None) -> dict[str, Any]:
    if not ref_id:
        return {}
    return _attributes(included_index.get(("scmGitReferences", ref_id), {}))


def build_action_from_json(
    resource: dict[str, Any], build_run_id: str | None = None
) -> BuildAction:
    attributes = _attributes(resource)
    return BuildAction(
        id=resource["id"],
        build_run_id=_related_id(resource, "buildRun") or build_run_id or "",
        name=attributes.get("name") or "",
        action_type=attributes.get("actionType"),
        started_date=parse_datetime(attributes.get("startedDate")),
        finished_date=parse_datetime(attributes.get("finishedDate")),
        execution_progress=attributes.get("executionProgress"),
        completion_status=attributes.get("completionStatus"),
        is_required_to_pass=attributes.get("isRequiredToPass"),
        issue_counts=IssueCounts.from_json(attributes.get("issueCounts")),
    )


def artifact_from_json(resource: dict[str, Any], build_action_id: str | None = None) -> Artifact:
    """An artifact. Apple's artifact documents carry no link to their action: pass it in."""
    attributes = _attributes(resource)
    size = attributes.get("fileSize")
    return Artifact(
        id=resource["id"],
        build_action_id=build_action_id or "",
        file_type=attributes.get("fileType"),
        file_name=attributes.get("fileName") or "",
        file_size=int(size) if size is not None else None,
        download_url=attributes.get("downloadUrl"),
    )
