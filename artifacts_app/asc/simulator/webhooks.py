"""Xcode Cloud webhook deliveries from the simulator: what Apple POSTs when its clock creates,
starts and completes build runs, so a demo shows builds arriving live.

`WebhookSender.advance()` moves the dataset's clock and posts one delivery per event, in
Apple's shape (`metadata.attributes.eventType`, `ciBuildRun`, `ciWorkflow`, `ciProduct`,
`ciBuildActions`, `scmGitReference`, ...). Like Apple it retries a delivery that fails with
a server error or no answer. Importable without Django.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from .dataset import Dataset, SimRun

logger = logging.getLogger(__name__)

WEBHOOK_ID = "5b1c3bb5-94c5-4bba-9b3a-0e3a0a8a8a10"
ATTEMPTS = 3


class WebhookSender:
    """Posts a delivery to `url` for every run the clock creates, starts or completes."""

    def __init__(
        self,
        dataset: Dataset,
        url: str,
        timeout: float = 30.0,
        post: Callable[[str, bytes], int] | None = None,
        retry_pause: float = 2.0,
    ):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"--webhook-url must be an http(s) URL, not {url!r}")
        self.dataset = dataset
        self.url = url
        self.timeout = timeout
        self.post = post or self._post
        self.retry_pause = retry_pause
        self.sent = 0
        self.failed = 0
        # What each unfinished run looked like at the last look: changes are events.
        self._progress = {
            run.id: run.progress(dataset.now_ts)
            for product in dataset.products
            for run in dataset.visible_runs(product)
            if run.progress(dataset.now_ts) != "COMPLETE"
        }

    def advance(self, **delta: float) -> list[dict[str, Any]]:
        """Move the clock (as `Dataset.advance`) and deliver what happened; returns the bodies."""
        new_runs = self.dataset.advance(**delta)
        deliveries = [
            delivery(run, event, self.dataset.now_ts, self.url)
            for run, event in (self._events(new_runs))
        ]
        for body in deliveries:
            self.deliver(body)
        return deliveries

    def deliver(self, body: dict[str, Any]) -> bool:
        data = json.dumps(body).encode()
        for attempt in range(ATTEMPTS):
            try:
                status = self.post(self.url, data)
            except requests.RequestException as exc:
                status, reason = None, str(exc)
            else:
                reason = f"HTTP {status}"
            if status is not None and status < 500:
                self.sent += 1
                return 200 <= status < 300
            logger.info("webhook delivery failed (%s); attempt %d", reason, attempt + 1)
            if attempt + 1 < ATTEMPTS:
                time.sleep(self.retry_pause * 2**attempt)
        self.failed += 1
        return False

    def _events(self, new_runs: list[SimRun]) -> list[tuple[SimRun, str]]:
        now = self.dataset.now_ts
        events = []
        for run in new_runs:
            events.append((run, "BUILD_CREATED"))
            self._progress.setdefault(run.id, "PENDING")
        for run_id, before in list(self._progress.items()):
            run = self.dataset.runs[run_id]
            after = run.progress(now)
            if before == "PENDING" and after != "PENDING":
                events.append((run, "BUILD_STARTED"))
            if after == "COMPLETE":
                events.append((run, "BUILD_COMPLETED"))
                del self._progress[run_id]
            else:
                self._progress[run_id] = after
        return events

    def _post(self, url: str, data: bytes) -> int:
        headers = {"Content-Type": "application/json", "User-Agent": "Xcode Cloud simulator"}
        return requests.post(url, data=data, headers=headers, timeout=self.timeout).status_code


def run_clock(
    advance: Callable[..., Any], speed: float, stop: threading.Event, every: float = 5.0
) -> None:
    """Move a clock `speed` simulated seconds per real second until `stop` is set, calling
    `advance(minutes=...)` (a `Dataset`'s, or a `WebhookSender`'s to deliver as it goes)."""
    last = time.monotonic()
    while not stop.wait(every):
        now = time.monotonic()
        advance(minutes=(now - last) * speed / 60)
        last = now


def delivery(run: SimRun, event_type: str, now: float, url: str = "") -> dict[str, Any]:
    """One delivery as Apple sends it: the run, its workflow, product, actions and git ref."""
    product, workflow, ref = run.product, run.workflow, run.source_ref
    progress = run.progress(now)
    complete = progress == "COMPLETE"
    body: dict[str, Any] = {
        "webhook": {"id": WEBHOOK_ID, "name": "Artifacts dashboard", "url": url},
        "metadata": {
            "type": "appStoreConnectWebhookEvent",
            "attributes": {"createdDate": _iso(now), "eventType": event_type},
        },
        "app": {"id": f"app-{product.id[:8]}", "type": "apps"},
        "ciWorkflow": {
            "id": workflow.id,
            "type": "ciWorkflows",
            "attributes": {
                "name": workflow.name,
                "description": workflow.description,
                "isEnabled": workflow.is_enabled,
                "isLockedForEditing": False,
                "lastModifiedDate": _iso(workflow.last_modified),
            },
        },
        "ciProduct": {
            "id": product.id,
            "type": "ciProducts",
            "attributes": {
                "name": product.name,
                "createdDate": _iso(product.created),
                "productType": product.product_type,
            },
        },
        "ciBuildRun": {
            "id": run.id,
            "type": "ciBuildRuns",
            "attributes": {
                "number": run.number,
                "createdDate": _iso(run.created),
                "startedDate": _iso(run.started()) if progress != "PENDING" else None,
                "finishedDate": _iso(run.finished()) if complete else None,
                "sourceCommit": {
                    "commitSha": run.commit_sha,
                    "author": {"displayName": run.author},
                    "committer": {"displayName": run.author},
                    "htmlUrl": f"https://git.example.com/commit/{run.commit_sha}",
                },
                "destinationCommit": None,
                "isPullRequestBuild": run.is_pull_request,
                "executionProgress": progress,
                "completionStatus": run.outcome if complete else None,
            },
        },
        "ciBuildActions": [
            {
                "name": action.name,
                "actionType": action.action_type,
                "issueCounts": None,
                "executionProgress": action.progress(now),
                "completionStatus": action.outcome if action.progress(now) == "COMPLETE" else None,
                "isRequiredToPass": action.is_required,
            }
            for action in run.actions
        ],
        "scmProvider": {
            "type": "scmProviders",
            "attributes": {"scmProviderType": {"kind": "GITHUB", "displayName": "GitHub"}},
        },
        "scmRepository": {
            "id": f"repo-{product.id[:8]}",
            "type": "scmRepositories",
            "attributes": {"ownerName": "example", "repositoryName": product.name},
        },
        "scmGitReference": {
            "id": ref.id,
            "type": "scmGitReferences",
            "attributes": {
                "name": ref.name,
                "canonicalName": ref.canonical_name,
                "isDeleted": False,
                "kind": ref.kind,
            },
        },
    }
    return body


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")
