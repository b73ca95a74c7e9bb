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
