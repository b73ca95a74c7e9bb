"""A small client for the Xcode Cloud part of the App Store Connect API.

One ``requests.Session``, a timeout on every call, pagination that follows ``links.next``
verbatim, bounded retries with exponential backoff and jitter, the ``X-Rate-Limit`` budget
exposed to callers, Apple's error documents turned into typed errors, and downloads
streamed without the Authorization header. Nothing here logs a token, key or signed URL.

Several threads may share one client (the sync fetches runs with a few workers): its
counters are kept under a lock, a ``budget`` (``CallBudget``) is asked before every call,
and a 429 or a ``Retry-After`` pauses every thread, not only the one that got it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from . import downloads, resources, transport
from .auth import TokenProvider
from .budget import CallBudget, RateLimit
from .downloads import DownloadSession
from .errors import (
    AscError,
    ConfigurationError,
    ForeignLinkError,
    RateLimitError,
    TransportError,
    error_from_response,
)
from .resources import Artifact, BuildAction, BuildRun, Page, Product, Workflow

logger = logging.getLogger(__name__)

USER_AGENT = "xcode-cloud-artifacts-dashboard/1.0 (+python-requests)"
PAGE_LIMIT = 200
BACKOFF_CAP = 30.0

# Sparse fieldsets: only the attributes and relationships the records use.
PRODUCT_FIELDS = "name,createdDate,productType"
WORKFLOW_FIELDS = "name,description,isEnabled,lastModifiedDate"
BUILD_RUN_FIELDS = (
    "number,createdDate,startedDate,finishedDate,sourceCommit,destinationCommit,"
    "isPullRequestBuild,issueCounts,executionProgress,completionStatus,startReason,"
    "cancelReason,workflow,product,sourceBranchOrTag,destinationBranch,pullRequest"
)
BUILD_RUN_INCLUDE = "workflow,sourceBranchOrTag,destinationBranch,pullRequest"
GIT_REFERENCE_FIELDS = "name,kind"
PULL_REQUEST_FIELDS = "title,number,webUrl"
ACTION_FIELDS = (
    "name,actionType,startedDate,finishedDate,issueCounts,executionProgress,"
    "completionStatus,isRequiredToPass"
)
ARTIFACT_FIELDS = "fileType,fileName,fileSize,downloadUrl"


class AscClient:
    def __init__(
        self,
        base_url: str,
        tokens: TokenProvider,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        max_attempts: int = 5,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        download_session: requests.Session | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.session = session or transport.own_session(self.base_url)
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        # Downloads go to pre-signed URLs: a separate session that never carries credentials.
        self.download_session = download_session or DownloadSession()
        self.download_session.headers.update({"User-Agent": USER_AGENT})
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.sleep = sleep
        self.calls = 0  # HTTP requests made to the API, retries included
        self.rate_limited = 0  # of which answered 429
        self.downloads = 0
        self.rate_limit: RateLimit | None = None
        self.budget: CallBudget | None = None  # asked before every call when set
        self._origin = _origin(self.base_url)
        self._host = urlsplit(self.base_url).netloc or self.base_url
        self._random = random.Random()
        self._lock = threading.Lock()
        self._paused_until = 0.0  # monotonic time until which every thread waits (429s)
        self._local = threading.local()
        self._pool_maxsize = requests.adapters.DEFAULT_POOLSIZE  # connections kept per host

    def pool_size(self, workers: int) -> None:
        """Keep a connection per worker thread, so concurrent calls reuse theirs."""
        if workers <= self._pool_maxsize:
            return
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=workers)
        for prefix in ("https://", "http://"):
            self.session.get_adapter(prefix).close()
            self.session.mount(prefix, adapter)
        self._pool_maxsize = workers

    @classmethod
    def from_settings_values(
        cls,
        base_url: str,
        key_id: str | None,
        issuer_id: str | None,
        private_key_path: str | None,
        private_key: str | None,
        **kwargs: Any,
    ) -> AscClient:
        """A client from the ASC_* settings; ConfigurationError names a setting at fault."""
        if not base_url:
            raise ConfigurationError("ASC_API_BASE_URL is empty: set it or leave it unset")
        tokens = TokenProvider.from_settings_values(
            key_id, issuer_id, private_key_path, private_key
        )
        return cls(base_url, tokens, **kwargs)

    # --- resources ----------------------------------------------------------------------

    def products(self) -> Iterator[Product]:
        params = {"limit": PAGE_LIMIT, "fields[ciProducts]": PRODUCT_FIELDS}
        for document in self._pages("/v1/ciProducts", params):
            for resource in document.get("data") or []:
                yield resources.product_from_json(resource)

    def product(self, product_id: str) -> Product:
        document = self._get(
            self._url(f"/v1/ciProducts/{_segment(product_id)}"),
            {"fields[ciProducts]": PRODUCT_FIELDS},
        )
        return resources.product_from_json(document["data"])

    def workflows(self, product_id: str) -> Iterator[Workflow]:
        params = {"limit": PAGE_LIMIT, "fields[ciWorkflows]": WORKFLOW_FIELDS}
        for document in self._pages(f"/v1/ciProducts/{_segment(product_id)}/workflows", params):
            for resource in document.get("data") or []:
                yield resources.workflow_from_json(resource, product_id)

    def build_run_pages(
        self, product_id: str, start_url: str | None = None
    ) -> Iterator[Page[BuildRun]]:
        """Pages of a product's runs, newest first; ``start_url`` resumes from a stored next."""
        params = {
            "limit": PAGE_LIMIT,
            "sort": "-number",
            "include": BUILD_RUN_INCLUDE,
            "fields[ciBuildRuns]": BUILD_RUN_FIELDS,
            "fields[scmGitReferences]": GIT_REFERENCE_FIELDS,
            "fields[scmPullRequests]": PULL_REQUEST_FIELDS,
            "fields[ciWorkflows]": "name",
        }
        path = f"/v1/ciProducts/{_segment(product_id)}/buildRuns"
        for document in self._pages(path, params, start_url=start_url):
            included = resources.index_included(document)
            runs = [
                resources.build_run_from_json(resource, included, product_id)
                for resource in document.get("data") or []
            ]
            yield Page(items=runs, next_url=_next_link(document))

    def build_runs(self, product_id: str) -> Iterator[BuildRun]:
        for page in self.build_run_pages(product_id):
            yield from page.items

    def build_run(self, run_id: str) -> BuildRun:
        params = {
            "include": BUILD_RUN_INCLUDE + ",product",
            "fields[ciBuildRuns]": BUILD_RUN_FIELDS,
            "fields[scmGitReferences]": GIT_REFERENCE_FIELDS,
            "fields[scmPullRequests]": PULL_REQUEST_FIELDS,
            "fields[ciProducts]": "name",
            "fields[ciWorkflows]": "name",
        }
        document = self._get(self._url(f"/v1/ciBuildRuns/{_segment(run_id)}"), params)
        return resources.build_run_from_json(document["data"], resources.index_included(document))

    def actions(self, run_id: str) -> Iterator[BuildAction]:
        params = {"limit": PAGE_LIMIT, "fields[ciBuildActions]": ACTION_FIELDS}
        for document in self._pages(f"/v1/ciBuildRuns/{_segment(run_id)}/actions", params):
            for resource in document.get("data") or []:
                yield resources.build_action_from_json(resource, run_id)

    def artifacts(self, action_id: str) -> Iterator[Artifact]:
        params = {"limit": PAGE_LIMIT, "fields[ciArtifacts]": ARTIFACT_FIELDS}
        for document in self._pages(f"/v1/ciBuildActions/{_segment(action_id)}/artifacts", params):
            for resource in document.get("data") or []:
                yield resources.artifact_from_json(resource, action_id)

    def artifact(self, artifact_id: str, build_action_id: str | None = None) -> Artifact:
        """The artifact with a fresh ``download_url`` (Apple does not say which action owns it)."""
        document = self._get(
            self._url(f"/v1/ciArtifacts/{_segment(artifact_id)}"),
            {"fields[ciArtifacts]": ARTIFACT_FIELDS},
        )
        return resources.artifact_from_json(document["data"], build_action_id)

    # --- downloads ----------------------------------------------------------------------

    def open_download(self, url: str, byte_range: str | None = None) -> requests.Response:
        """Start streaming a pre-signed download; see ``downloads.open_download``."""
        return downloads.open_download(self, url, byte_range)

    # --- HTTP ---------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _pages(
        self, path: str, params: dict[str, Any], start_url: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Documents of a list, following ``links.next`` exactly as given.

        A document is yielded only once its ``links.next`` is known to stay on the API's
        origin, so whoever keeps that link as a cursor keeps a checked one."""
        if start_url:
            self._check_link(start_url, "the stored cursor")
        url, query = (start_url, None) if start_url else (self._url(path), params)
        seen: set[str] = set()
        while url:
            document = self._get(url, query)
            next_url = _next_link(document)
            if next_url:
                self._check_link(next_url, "links.next")
            yield document
            if not next_url or next_url in seen:
                if next_url:
                    logger.warning("GET %s: links.next repeated; stopping", urlsplit(url).path)
                return
            seen.add(next_url)
            url, query = next_url, None

    def is_own_link(self, url: Any) -> bool:
        """Whether ``url`` is on the API's origin, where the token may be sent."""
        try:
            return _origin(url) == self._origin
        except (TypeError, ValueError, AttributeError):
            return False

    def _check_link(self, url: Any, what: str) -> None:
        if not self.is_own_link(url):
            raise ForeignLinkError(
                f"{what} points away from {self._host}: refusing to send the token there"
            )

    def _get(self, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One GET with retries; returns the parsed JSON document or raises an AscError."""
        path = urlsplit(url).path
        attempt = 0
        renewed = False
        while True:
            attempt += 1
            self._wait_for_pause()
            auth = transport.BearerAuth(self.tokens.token())
            budget = self.budget  # the same one settles the call, if it is replaced meanwhile
            ticket = budget.take() if budget is not None else None
            with self._lock:
                self.calls += 1
            logger.debug("GET %s (attempt %d)", path, attempt)
            rate_limit = None
            try:
                try:
                    response = self.session.get(url, params=params, auth=auth, timeout=self.timeout)
                    rate_limit = self._note_rate_limit(response)
                finally:
                    if ticket is not None:
                        budget.settle(ticket, rate_limit.remaining if rate_limit else None)
                status = response.status_code
                if status == 401 and not renewed:
                    # Transient 401s happen: sign a fresh token once and try again.
                    renewed = True
                    self.tokens.invalidate()
                    attempt -= 1
                    continue
                if status == 429 or status >= 500:
                    if status == 429:
                        with self._lock:
                            self.rate_limited += 1
                    retry_after = transport.retry_after(response)
                    error = error_from_response(
                        status, _json_or_none(response), retry_after=retry_after
                    )
                    if self._give_up(error, attempt, retry_after):
                        raise error
                    self.wait_before_retry(
                        attempt, retry_after, everyone=status == 429 or retry_after is not None
                    )
                    continue
                if status >= 400:
                    raise error_from_response(status, _json_or_none(response))
                document = response.json()
                if not isinstance(document, dict):
                    raise ValueError("the body is not a JSON object")
                return document
            except (
                requests.exceptions.InvalidURL,
                requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema,
            ):
                raise ConfigurationError(
                    f"ASC_API_BASE_URL is not a usable URL: {self.base_url}"
                ) from None
            except transport.RETRYABLE_EXCEPTIONS + (ValueError,) as exc:
                if attempt >= self.max_attempts:
                    raise TransportError(
                        f"cannot reach {self._host}: {transport.reason(exc)} "
                        f"(GET {path}, {attempt} attempts)"
                    ) from None
                logger.info("GET %s failed (%s); retrying", path, type(exc).__name__)
                self.wait_before_retry(attempt)

    def _give_up(self, error: AscError, attempt: int, retry_after: float | None) -> bool:
        if attempt >= self.max_attempts:
            return True
        if retry_after is not None and retry_after > transport.MAX_RETRY_AFTER:
            return True
        # An hourly budget that is spent will not come back within a few retries.
        return (
            isinstance(error, RateLimitError)
            and self.rate_limit is not None
            and self.rate_limit.remaining == 0
        )

    def wait_before_retry(
        self, attempt: int, retry_after: float | None = None, everyone: bool = False
    ) -> None:
        """Back off before attempt ``attempt + 1``; ``everyone``: every thread waits too
        (the API asked to slow down, which a single thread's pause would not do)."""
        if retry_after is not None:
            delay = retry_after
        else:
            delay = min(BACKOFF_CAP, self.backoff * 2 ** (attempt - 1))
            with self._lock:  # random.Random is not safe to share between threads
                delay *= self._random.uniform(0.5, 1.0)  # jitter: clients not in step
        if everyone:
            with self._lock:
                until = max(self._paused_until, time.monotonic() + delay)
                self._paused_until = until
            self._local.waited_until = until
        self.sleep(delay)

    def _wait_for_pause(self) -> None:
        """Wait out a pause another thread's 429 started (once: `sleep` may be a stand-in)."""
        with self._lock:
            until = self._paused_until
        if until <= getattr(self._local, "waited_until", 0.0):
            return
        self._local.waited_until = until
        delay = until - time.monotonic()
        if delay > 0:
            self.sleep(delay)

    def _note_rate_limit(self, response: requests.Response) -> RateLimit | None:
        rate_limit = RateLimit.from_header(response.headers.get("X-Rate-Limit"))
        if rate_limit is not None:
            self.rate_limit = rate_limit
        return rate_limit


def _segment(resource_id: str) -> str:
    """An id as one path segment: an id holding '/', '?' or '..' cannot name another resource."""
    return quote(str(resource_id), safe="")


def _next_link(document: dict[str, Any]) -> str | None:
    links = document.get("links") or {}
    return links.get("next") or None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
