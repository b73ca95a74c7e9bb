"""Records of `asc.resources` -> the column values of their mirror rows.

The one place that knows both Apple's records and the mirror models' columns.
"""

from __future__ import annotations

from typing import Any

from ..asc import resources


def product_columns(product: resources.Product) -> dict[str, Any]:
    return {
        "name": product.name,
        "product_type": product.product_type or "",
        "created_date": product.created_date,
    }


def workflow_columns(workflow: resources.Workflow, product_pk: int | None) -> dict[str, Any]:
    return {
        "product_id": product_pk,
        "name": workflow.name,
        "description": workflow.description or "",
        "is_enabled": workflow.is_enabled,
        "last_modified_date": workflow.last_modified_date,
    }


def _issue_columns(counts: resources.IssueCounts | None) -> dict[str, Any]:
    if counts is None:
        return {"analyzer_warnings": None, "errors": None, "test_failures": None, "warnings": None}
    return {
        "analyzer_warnings": counts.analyzer_warnings,
        "errors": counts.errors,
        "test_failures": counts.test_failures,
        "warnings": counts.warnings,
    }


def run_columns(
    run: resources.BuildRun, product_pk: int | None, workflow_pk: int | None
) -> dict[str, Any]:
    source = run.source_commit
    destination = run.destination_commit
    return {
        "product_id": product_pk,
        "workflow_id": workflow_pk,
        "number": run.number,
        "created_date": run.created_date,
        "started_date": run.started_date,
        "finished_date": run.finished_date,
        "execution_progress": run.execution_progress or "",
        "completion_status": run.completion_status or "",
        "start_reason": run.start_reason or "",
        "cancel_reason": run.cancel_reason or "",
        "is_pull_request_build": run.is_pull_request_build,
        "source_commit_sha": source.sha if source else "",
        "source_commit_message": source.message if source else "",
        "source_commit_author": source.author if source else "",
        "source_commit_url": source.web_url if source else "",
        "destination_commit_sha": destination.sha if destination else "",
        "source_ref_name": run.source_ref_name or "",
        "source_ref_kind": run.source_ref_kind or "",
        "destination_branch_name": run.destination_branch_name or "",
        "pull_request_number": run.pull_request_number,
        "pull_request_title": run.pull_request_title or "",
        "pull_request_url": run.pull_request_url or "",
        **_issue_columns(run.issue_counts),
    }


def action_columns(action: resources.BuildAction, run_pk: int | None) -> dict[str, Any]:
    return {
        "build_run_id": run_pk,
        "name": action.name,
        "action_type": action.action_type or "",
        "started_date": action.started_date,
        "finished_date": action.finished_date,
        "execution_progress": action.execution_progress or "",
        "completion_status": action.completion_status or "",
        "is_required_to_pass": action.is_required_to_pass,
        **_issue_columns(action.issue_counts),
    }


def artifact_columns(artifact: resources.Artifact) -> dict[str, Any]:
    # downloadUrl is deliberately not stored: it is a short-lived credential.
    return {
        "file_type": artifact.file_type or "",
        "file_name": artifact.file_name,
        "file_size": artifact.file_size,
    }
