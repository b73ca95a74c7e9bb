"""The simulator's WSGI app: Xcode Cloud GET endpoints, JWT checks, budget, faults, downloads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import struct
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import jwt

from .dataset import (
    Dataset,
    SimAction,
    SimArtifact,
    SimGitRef,
    SimProduct,
    SimRun,
    SimWorkflow,
    content_chunks,
)
from .faults import Faults

MAX_LIFETIME = 20 * 60
SCOPED_MAX_LIFETIME = 183 * 86400
AUDIENCE = "appstoreconnect-v1"


@dataclass
class SimulatorConfig:
    """Runtime knobs; tests may change any of them while the server runs."""

    public_key: str | None = None  # PEM; when set, signatures are verified
    key_id: str | None = None  # when set, the token's kid must match
    issuer_id: str | None = None  # when set, a team key: iss must match
    individual_key: bool = False  # when set, tokens must carry sub "user" and no iss
    budget: int | None = None  # requests per rolling hour; None is unlimited
    download_expiry: float = 600.0  # seconds a downloadUrl stays valid
    faults: Faults = field(default_factory=Faults)
    clock: Callable[[], float] = time.time  # for token expiry, budget window and URL expiry


class Stats:
    """What the server has seen, for tests to assert on. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests = 0  # every request, API and downloads
        self.api_requests = 0
        self.downloads = 0
        self.by_kind: Counter[str] = Counter()  # "ciProducts/buildRuns", "download", ...
        self.by_status: Counter[int] = Counter()
        self.faults: Counter[str] = Counter()
        self.tokens: set[str] = set()  # distinct bearer tokens accepted
        self.download_authorization_seen = False
        self.download_bytes = 0

    def record(self, kind: str, api: bool) -> None:
        with self._lock:
            self.requests += 1
            self.by_kind[kind] += 1
            if api:
                self.api_requests += 1
            else:
                self.downloads += 1

    def count(self, counter: str, key: Any, amount: int = 1) -> None:
        with self._lock:
            getattr(self, counter)[key] += amount


class ApiError(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str, parameter: str = ""):
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.parameter = parameter

    def document(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "status": str(self.status),
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
        }
        if self.parameter:
            error["source"] = {"parameter": self.parameter}
        return {"errors": [error]}


def _not_found(kind: str, resource_id: str) -> ApiError:
    return ApiError(
        404,
        "NOT_FOUND",
        "The specified resource does not exist",
        f"There is no resource of type '{kind}' with id '{resource_id}'",
    )


def _invalid(parameter: str, detail: str, code: str = "PARAMETER_ERROR.INVALID") -> ApiError:
    return ApiError(400, code, "A parameter has an invalid value", detail, parameter)


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
}
OTHER_FIELD_TYPES = [
    "apps",
    "bundleIds",
    "scmRepositories",
    "ciXcodeVersions",
    "ciMacOsVersions",
    "builds",
    "scmPullRequests",
]
RUN_INCLUDES = [
    "builds",
    "workflow",
    "product",
    "sourceBranchOrTag",
    "destinationBranch",
    "pullRequest",
]
RUN_LIST = {
    "limit": 200,
    "include": RUN_INCLUDES,
    "sort": ["number", "-number"],
    "fields": [
        "ciBuildRuns",
        "builds",
        "ciWorkflows",
        "ciProducts",
        "scmGitReferences",
        "scmPullRequests",
    ],
    "extra": ["filter[builds]", "limit[builds]"],
}
PRODUCT_ONE = {
    "include": ["app", "bundleId", "primaryRepositories"],
    "fields": ["ciProducts", "apps", "bundleIds", "scmRepositories"],
    "extra": ["limit[primaryRepositories]"],
}
WORKFLOW_ONE = {
    "include": ["product", "repository", "xcodeVersion", "macOsVersion"],
    "fields": [
        "ciWorkflows",
        "ciProducts",
        "scmRepositories",
        "ciXcodeVersions",
        "ciMacOsVersions",
    ],
}


@dataclass
class Request:
    base: str  # scheme://host
    path: str
    query: dict[str, str]
    fields: dict[str, set[str]]
    include: set[str]


class SimulatorApp:
    """A WSGI callable. ``make_app(dataset, config)`` builds one."""

    def __init__(self, dataset: Dataset, config: SimulatorConfig | None = None):
        self.dataset = dataset
        self.config = config or SimulatorConfig()
        self.stats = Stats()
        self._budget_lock = threading.Lock()
        self._budget_window: deque[float] = deque()
        self._secret = hashlib.sha256(f"download-secret/{dataset.seed}".encode()).digest()
        self.routes: list[tuple[re.Pattern[str], str, Callable[..., Any], dict[str, Any]]] = [
            (re.compile(p), kind, handler, spec)
            for p, kind, handler, spec in [
                (
                    r"/v1/ciProducts",
                    "ciProducts",
                    self.list_products,
                    {
                        **PRODUCT_ONE,
                        "limit": 200,
                        "extra": [
                            "limit[primaryRepositories]",
                            "filter[productType]",
                            "filter[app]",
                        ],
                        "sort": ["latestBuildCreatedDate", "-latestBuildCreatedDate"],
                    },
                ),
                (r"/v1/ciProducts/([^/]+)", "ciProducts/id", self.get_product, PRODUCT_ONE),
                (
                    r"/v1/ciProducts/([^/]+)/workflows",
                    "ciProducts/workflows",
                    self.list_workflows,
                    {**WORKFLOW_ONE, "limit": 200},
                ),
                (
                    r"/v1/ciProducts/([^/]+)/buildRuns",
                    "ciProducts/buildRuns",
                    self.list_product_runs,
                    RUN_LIST,
                ),
                (r"/v1/ciWorkflows/([^/]+)", "ciWorkflows/id", self.get_workflow, WORKFLOW_ONE),
                (
                    r"/v1/ciWorkflows/([^/]+)/buildRuns",
                    "ciWorkflows/buildRuns",
                    self.list_workflow_runs,
                    RUN_LIST,
                ),
                (
                    r"/v1/ciBuildRuns/([^/]+)",
                    "ciBuildRuns/id",
                    self.get_run,
                    {k: v for k, v in RUN_LIST.items() if k not in ("limit", "sort")}
                    | {"extra": ["limit[builds]"]},
                ),
                (
                    r"/v1/ciBuildRuns/([^/]+)/actions",
                    "ciBuildRuns/actions",
                    self.list_actions,
                    {
                        "limit": 200,
                        "include": ["buildRun"],
                        "fields": ["ciBuildActions", "ciBuildRuns"],
                    },
                ),
                (
                    r"/v1/ciBuildActions/([^/]+)",
                    "ciBuildActions/id",
                    self.get_action,
                    {"include": ["buildRun"], "fields": ["ciBuildActions", "ciBuildRuns"]},
                ),
                (
                    r"/v1/ciBuildActions/([^/]+)/artifacts",
                    "ciBuildActions/artifacts",
                    self.list_artifacts,
                    {"limit": 200, "fields": ["ciArtifacts"]},
                ),
                (
                    r"/v1/ciArtifacts/([^/]+)",
                    "ciArtifacts/id",
                    self.get_artifact,
                    {"fields": ["ciArtifacts"]},
                ),
            ]
        ]

    # --- WSGI ---------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/download/"):
            return self.download(environ, start_response, path.removeprefix("/download/"))
        route = next(
            (
                (m, kind, handler, spec)
                for pattern, kind, handler, spec in self.routes
                if (m := pattern.fullmatch(path))
            ),
            None,
        )
        self.stats.record(route[1] if route else "unknown", api=True)
        try:
            if environ.get("REQUEST_METHOD", "GET") != "GET":
                raise ApiError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    "The request method is not allowed",
                    "The simulator serves GET requests only",
                )
            self._authenticate(environ)
            self._spend_budget()
            request = f"GET {path}?{environ.get('QUERY_STRING', '')}"
            fault = self.config.faults.next_api_fault(request)
            if self.config.faults.latency:
                time.sleep(self.config.faults.latency)
            if fault:
                self.stats.count("faults", fault)
                early = self._early_fault(fault, environ, start_response)
                if early is not None:
                    return early
            if route is None:
                raise ApiError(
                    404,
                    "NOT_FOUND",
                    "The specified resource does not exist",
                    f"The path '{path}' is not a resource of this API",
                )
            match, _kind, handler, spec = route
            request = self._parse_request(environ, spec)
            status, document = 200, handler(request, *match.groups())
        except ApiError as error:
            status, document, fault = error.status, error.document(), None
        body = json.dumps(document).encode()
        if fault == "truncate":
            _close_after(environ)
            return self._respond(start_response, status, body[: len(body) // 2], len(body))
        if fault == "invalid-json":
            body = body[: len(body) // 2]
        return self._respond(start_response, status, body)

    def _respond(
        self,
        start_response: Callable[..., Any],
        status: int,
        body: bytes,
        content_length: int | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        self.stats.count("by_status", status)
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(content_length if content_length is not None else len(body))),
            ("X-Rate-Limit", self._rate_limit_header()),
            *(extra or []),
        ]
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [body]

    def _early_fault(
        self, fault: str, environ: dict[str, Any], start_response
    ) -> list[bytes] | None:
        if fault == "reset":
            _reset_connection(environ)
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return []
        if fault in ("429", "429-retry-after"):
            error = ApiError(
                429,
                "RATE_LIMIT_EXCEEDED",
                "The request rate limit has been reached.",
                "We've received too many requests for this API. "
                "Please wait and try again or slow down your request rate.",
            )
            extra = (
                [("Retry-After", str(self.config.faults.retry_after))]
                if fault.endswith("retry-after")
                else []
            )
            return self._respond(
                start_response, 429, json.dumps(error.document()).encode(), extra=extra
            )
        if fault == "401":
            error = _unauthorized("the token was refused (a transient failure)")
            return self._respond(start_response, 401, json.dumps(error.document()).encode())
        if fault in ("500", "503"):
            status = int(fault)
            error = ApiError(
                status,
                "UNEXPECTED_ERROR" if status == 500 else "SERVICE_UNAVAILABLE",
                "An unexpected error occurred.",
                "The server failed; try again later.",
            )
            return self._respond(start_response, status, json.dumps(error.document()).encode())
        return None  # truncate / invalid-json mangle the real response later

    # --- authentication and budget --------------------------------------------------------

    def _authenticate(self, environ: dict[str, Any]) -> None:
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Bearer "):
            raise _unauthorized("no bearer token in the Authorization header")
        token = header.removeprefix("Bearer ").strip()
        reason = self.token_problem(token)
        if reason:
            raise _unauthorized(reason)
        with self.stats._lock:
            self.stats.tokens.add(token)

    def token_problem(self, token: str) -> str | None:
        """Why Apple would refuse this token, or None when it is acceptable."""
        config = self.config
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return "the bearer token is not a JWT"
        if header.get("alg") != "ES256":
            return f"alg must be ES256, not {header.get('alg')!r}"
        if config.key_id and header.get("kid") != config.key_id:
            return "kid does not name the API key (check ASC_KEY_ID)"
        options = {
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
            "verify_aud": False,
            "verify_signature": bool(config.public_key),
        }
        try:
            claims = jwt.decode(
                token, config.public_key or "", algorithms=["ES256"], options=options
            )
        except jwt.InvalidSignatureError:
            return "the signature does not match the API key's public key"
        except jwt.PyJWTError as exc:
            return f"the token cannot be verified: {type(exc).__name__}"
        if claims.get("aud") != AUDIENCE:
            return f"aud must be {AUDIENCE!r}"
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            return "iat and exp are required"
        now = config.clock()
        if exp <= now:
            return "the token has expired"
        if iat > now + 60:
            return "iat is in the future: check the clock"
        scope = claims.get("scope") or []
        get_only = bool(scope) and all(str(s).startswith("GET ") for s in scope)
        if exp - iat > (SCOPED_MAX_LIFETIME if get_only else MAX_LIFETIME):
            return "the token lives longer than 20 minutes without a GET-only scope"
        if config.issuer_id:
            if claims.get("sub") == "user" and "iss" not in claims:
                return "an individual-key token (sub 'user') was sent for a team key"
            if claims.get("iss") != config.issuer_id:
                return "iss does not match the issuer id (check ASC_ISSUER_ID)"
        elif config.individual_key:
            if "iss" in claims:
                return "a team-key token (iss) was sent for an individual key"
            if claims.get("sub") != "user":
                return "an individual key's token needs sub 'user'"
        return None

    def _spend_budget(self) -> None:
        budget = self.config.budget
        now = self.config.clock()
        with self._budget_lock:
            while self._budget_window and self._budget_window[0] <= now - 3600:
                self._budget_window.popleft()
            if budget is not None and len(self._budget_window) >= budget:
                raise ApiError(
                    429,
                    "RATE_LIMIT_EXCEEDED",
                    "The request rate limit has been reached.",
                    "We've received too many requests for this API. "
                    "Please wait and try again or slow down your request rate.",
                )
            self._budget_window.append(now)

    def reset_budget(self) -> None:
        with self._budget_lock:
            self._budget_window.clear()

    @property
    def budget_remaining(self) -> int | None:
        if self.config.budget is None:
            return None
        return max(0, self.config.budget - len(self._budget_window))

    def _rate_limit_header(self) -> str:
        limit = self.config.budget if self.config.budget is not None else 3600
        remaining = self.budget_remaining
        if remaining is None:
            remaining = limit  # unlimited: always report the full budget
        return f"user-hour-lim:{limit};user-hour-rem:{remaining};"

    # --- request parsing --------------------------------------------------------------

    def _parse_request(self, environ: dict[str, Any], spec: dict[str, Any]) -> Request:
        raw = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        query: dict[str, str] = {}
        for name, values in raw.items():
            if len(values) > 1:
                raise _invalid(
                    name,
                    f"The parameter '{name}' was given more than once",
                    "PARAMETER_ERROR.DUPLICATE",
                )
            query[name] = values[0]
        fields: dict[str, set[str]] = {}
        include: set[str] = set()
        for name, value in query.items():
            if name == "cursor" and "limit" in spec:
                continue
            if name == "limit" and "limit" in spec:
                if not value.isdigit() or not 1 <= int(value) <= spec["limit"]:
                    raise _invalid(
                        name,
                        f"'{value}' is not a valid value for 'limit': "
                        f"use an integer from 1 to {spec['limit']}",
                    )
            elif name == "include" and "include" in spec:
                include = set(value.split(","))
                bad = include - set(spec["include"])
                if bad:
                    raise _invalid(name, f"'{sorted(bad)[0]}' is not a valid relationship name")
            elif name == "sort" and "sort" in spec:
                if value not in spec["sort"]:
                    raise _invalid(name, f"'{value}' is not a valid sort field")
            elif name.startswith("fields[") and name[7:-1] in spec.get("fields", []):
                kind = name[7:-1]
                wanted = set(value.split(","))
                known = FIELDS.get(kind)
                if known is not None and wanted - set(known):
                    raise _invalid(
                        name,
                        f"'{sorted(wanted - set(known))[0]}' is not a valid field name for {kind}",
                    )
                fields[kind] = wanted
            elif name in spec.get("extra", []):
                continue
            else:
                raise _invalid(
                    name,
                    f"The parameter '{name}' can not be used with this request",
                    "PARAMETER_ERROR.ILLEGAL",
                )
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        return Request(f"{scheme}://{host}", environ.get("PATH_INFO", ""), query, fields, include)

    # --- handlers ---------------------------------------------------------------------

    def list_products(self, request: Request) -> dict[str, Any]:
        products = list(self.dataset.products)
        wanted = request.query.get("filter[productType]")
        if wanted:
            products = [p for p in products if p.product_type in wanted.split(",")]
        if request.query.get("sort", "").endswith("latestBuildCreatedDate"):
            products.sort(
                key=lambda p: max(p.run_created, default=0),
                reverse=request.query["sort"].startswith("-"),
            )
        return self._page(request, products, lambda p: self._product(request, p))

    def get_product(self, request: Request, product_id: str) -> dict[str, Any]:
        product = self._find_product(product_id)
        return self._single(request, self._product(request, product))

    def list_workflows(self, request: Request, product_id: str) -> dict[str, Any]:
        product = self._find_product(product_id)
        included = self._workflow_included(request, product) if "product" in request.include else []
        return self._page(
            request, product.workflows, lambda w: self._workflow(request, w), included
        )

    def get_workflow(self, request: Request, workflow_id: str) -> dict[str, Any]:
        workflow = self.dataset.workflows.get(workflow_id)
        if workflow is None:
            raise _not_found("ciWorkflows", workflow_id)
        included = (
            self._workflow_included(request, workflow.product)
            if ("product" in request.include)
            else []
        )
        return self._single(request, self._workflow(request, workflow), included)

    def _workflow_included(self, request: Request, product: SimProduct) -> list[dict[str, Any]]:
        return [self._product(request, product)]

    def list_product_runs(self, request: Request, product_id: str) -> dict[str, Any]:
        product = self._find_product(product_id)
        return self._run_page(request, self.dataset.visible_runs(product))

    def list_workflow_runs(self, request: Request, workflow_id: str) -> dict[str, Any]:
        workflow = self.dataset.workflows.get(workflow_id)
        if workflow is None:
            raise _not_found("ciWorkflows", workflow_id)
        return self._run_page(request, self.dataset.visible_runs(workflow.product, workflow))

    def get_run(self, request: Request, run_id: str) -> dict[str, Any]:
        run = self._find_run(run_id)
        return self._single(request, self._run(request, run), self._run_included(request, [run]))

    def list_actions(self, request: Request, run_id: str) -> dict[str, Any]:
        run = self._find_run(run_id)
        included = [self._run(request, run)] if "buildRun" in request.include else []
        return self._page(request, run.actions, lambda a: self._action(request, a), included)

    def get_action(self, request: Request, action_id: str) -> dict[str, Any]:
        action = self._find_action(action_id)
        included = [self._run(request, action.run)] if "buildRun" in request.include else []
        return self._single(request, self._action(request, action), included)

    def list_artifacts(self, request: Request, action_id: str) -> dict[str, Any]:
        action = self._find_action(action_id)
        artifacts = self.dataset.visible_artifacts(action)
        return self._page(request, artifacts, lambda a: self._artifact(request, a))

    def get_artifact(self, request: Request, artifact_id: str) -> dict[str, Any]:
        artifact = self.dataset.artifacts.get(artifact_id)
        if artifact is None or artifact not in self.dataset.visible_artifacts(artifact.action):
            raise _not_found("ciArtifacts", artifact_id)
        return self._single(request, self._artifact(request, artifact))

    def _find_product(self, product_id: str) -> SimProduct:
        product = self.dataset.product(product_id)
        if product is None:
            raise _not_found("ciProducts", product_id)
        return product

    def _find_run(self, run_id: str) -> SimRun:
        run = self.dataset.runs.get(run_id)
        if run is None or not self.dataset.is_visible(run):
            raise _not_found("ciBuildRuns", run_id)
        return run

    def _find_action(self, action_id: str) -> SimAction:
        action = self.dataset.actions.get(action_id)
        if action is None or not self.dataset.is_visible(action.run):
            raise _not_found("ciBuildActions", action_id)
        return action

    # --- documents ----------------------------------------------------------------------

    def _single(
        self,
        request: Request,
        resource: dict[str, Any],
        included: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        document: dict[str, Any] = {"data": resource, "links": {"self": self._self_link(request)}}
        if included:
            document["included"] = included
        return document

    def _page(
        self,
        request: Request,
        items: list[Any],
        render: Callable[[Any], dict[str, Any]],
        included: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        limit = int(request.query.get("limit", 50))
        offset = _decode_cursor(request.query.get("cursor"), "o")
        page = items[offset : offset + limit]
        document = self._list_document(
            request,
            [render(i) for i in page],
            len(items),
            limit,
            {"o": offset + limit} if offset + limit < len(items) else None,
        )
        if included:
            document["included"] = included
        return document

    def _run_page(self, request: Request, runs: list[SimRun]) -> dict[str, Any]:
        """Keyset pagination by number, so runs created mid-walk do not shift the pages."""
        limit = int(request.query.get("limit", 50))
        descending = request.query.get("sort", "number") == "-number"
        after = _decode_cursor(request.query.get("cursor"), "n", default=None)
        ordered = list(reversed(runs)) if descending else runs
        if after is not None:
            ordered = [r for r in ordered if (r.number < after if descending else r.number > after)]
        page = ordered[:limit]
        cursor = {"n": page[-1].number} if len(ordered) > limit else None
        document = self._list_document(
            request, [self._run(request, r) for r in page], len(runs), limit, cursor
        )
        included = self._run_included(request, page)
        if included:
            document["included"] = included
        return document

    def _list_document(
        self,
        request: Request,
        data: list[dict[str, Any]],
        total: int,
        limit: int,
        cursor: dict[str, int] | None,
    ) -> dict[str, Any]:
        links = {"self": self._self_link(request)}
        if cursor is not None:
            query = {k: v for k, v in request.query.items() if k != "cursor"}
            query["cursor"] = _encode_cursor(cursor)
            links["next"] = f"{request.base}{request.path}?{urlencode(query)}"
        return {"data": data, "links": links, "meta": {"paging": {"total": total, "limit": limit}}}

    def _self_link(self, request: Request) -> str:
        query = f"?{urlencode(request.query)}" if request.query else ""
        return f"{request.base}{request.path}{query}"

    def _resource(
        self,
        request: Request,
        kind: str,
        resource_id: str,
        attributes: dict[str, Any],
        relationships: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        wanted = request.fields.get(kind)
        resource: dict[str, Any] = {"type": kind, "id": resource_id}
        resource["attributes"] = {
            k: v for k, v in attributes.items() if wanted is None or k in wanted
        }
        if relationships:
            kept = {k: v for k, v in relationships.items() if wanted is None or k in wanted}
            if kept:
                resource["relationships"] = kept
        resource["links"] = {"self": f"{request.base}/v1/{kind}/{resource_id}"}
        return resource

    def _links(self, request: Request, kind: str, resource_id: str, name: str) -> dict[str, Any]:
        base = f"{request.base}/v1/{kind}/{resource_id}"
        return {"links": {"self": f"{base}/relationships/{name}", "related": f"{base}/{name}"}}

    def _product(self, request: Request, product: SimProduct) -> dict[str, Any]:
        attributes = {
            "name": product.name,
            "createdDate": _iso(product.created),
            "productType": product.product_type,
        }
        relationships = {
            name: self._links(request, "ciProducts", product.id, name)
            for name in (
                "app",
                "workflows",
                "primaryRepositories",
                "additionalRepositories",
                "buildRuns",
            )
        }
        return self._resource(request, "ciProducts", product.id, attributes, relationships)

    def _workflow(self, request: Request, workflow: SimWorkflow) -> dict[str, Any]:
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
            "lastModifiedDate": _iso(workflow.last_modified),
        }
        relationships = {
            "product": {"data": {"type": "ciProducts", "id": workflow.product.id}},
            "buildRuns": self._links(request, "ciWorkflows", workflow.id, "buildRuns"),
        }
        return self._resource(request, "ciWorkflows", workflow.id, attributes, relationships)

    def _run(self, request: Request, run: SimRun) -> dict[str, Any]:
        now = self.dataset.now_ts
        progress = run.progress(now)
        complete = progress == "COMPLETE"
        attributes = {
            "number": run.number,
            "createdDate": _iso(run.created),
            "startedDate": _iso(run.started()) if progress != "PENDING" else None,
            "finishedDate": _iso(run.finished()) if complete else None,
            "sourceCommit": _commit(run.commit_sha, run.message, run.author),
            "destinationCommit": _commit(run.destination_sha, "Merge base", run.author)
            if run.destination_sha
            else None,
            "isPullRequestBuild": run.is_pull_request,
            "issueCounts": _issue_counts(a.issues for a in run.actions) if complete else None,
            "executionProgress": progress,
            "completionStatus": run.outcome if complete else None,
            "startReason": run.start_reason,
            "cancelReason": run.cancel_reason if complete else None,
        }
        if attributes["destinationCommit"] is None:
            del attributes["destinationCommit"]
        relationships: dict[str, Any] = {
            "builds": self._links(request, "ciBuildRuns", run.id, "builds"),
            "actions": self._links(request, "ciBuildRuns", run.id, "actions"),
        }
        linked = {
            "workflow": ("ciWorkflows", run.workflow.id),
            "product": ("ciProducts", run.product.id),
            "sourceBranchOrTag": ("scmGitReferences", run.source_ref.id),
        }
        if run.destination_ref is not None:
            linked["destinationBranch"] = ("scmGitReferences", run.destination_ref.id)
        for name, (kind, resource_id) in linked.items():
            if name in request.include:
                relationships[name] = {"data": {"type": kind, "id": resource_id}}
        return self._resource(request, "ciBuildRuns", run.id, attributes, relationships)

    def _run_included(self, request: Request, runs: list[SimRun]) -> list[dict[str, Any]]:
        included: dict[tuple[str, str], dict[str, Any]] = {}
        for run in runs:
            if "workflow" in request.include:
                included[("w", run.workflow.id)] = self._workflow(request, run.workflow)
            if "product" in request.include:
                included[("p", run.product.id)] = self._product(request, run.product)
            refs = []
            if "sourceBranchOrTag" in request.include:
                refs.append(run.source_ref)
            if "destinationBranch" in request.include and run.destination_ref is not None:
                refs.append(run.destination_ref)
            for ref in refs:
                included[("r", ref.id)] = self._git_ref(request, ref)
        return list(included.values())

    def _git_ref(self, request: Request, ref: SimGitRef) -> dict[str, Any]:
        attributes = {
            "name": ref.name,
            "canonicalName": ref.canonical_name,
            "isDeleted": False,
            "kind": ref.kind,
        }
        return self._resource(request, "scmGitReferences", ref.id, attributes)

    def _action(self, request: Request, action: SimAction) -> dict[str, Any]:
        progress = action.progress(self.dataset.now_ts)
        complete = progress == "COMPLETE"
        attributes = {
            "name": action.name,
            "actionType": action.action_type,
            "startedDate": _iso(action.started()) if progress != "PENDING" else None,
            "finishedDate": _iso(action.finished()) if complete else None,
            "issueCounts": _issue_counts([action.issues]) if complete else None,
            "executionProgress": progress,
            "completionStatus": action.outcome if complete else None,
            "isRequiredToPass": action.is_required,
        }
        relationships = {
            name: self._links(request, "ciBuildActions", action.id, name)
            for name in ("buildRun", "artifacts", "issues", "testResults")
        }
        if "buildRun" in request.include:
            relationships["buildRun"]["data"] = {"type": "ciBuildRuns", "id": action.run.id}
        return self._resource(request, "ciBuildActions", action.id, attributes, relationships)

    def _artifact(self, request: Request, artifact: SimArtifact) -> dict[str, Any]:
        attributes = {
            "fileType": artifact.file_type,
            "fileName": artifact.file_name,
            "fileSize": artifact.file_size,
            "downloadUrl": self.download_url(request.base, artifact.id),
        }
        return self._resource(request, "ciArtifacts", artifact.id, attributes)

    # --- downloads ----------------------------------------------------------------------

    def download_url(self, base: str, artifact_id: str) -> str:
        expires = int(self.config.clock() + self.config.download_expiry)
        signature = self._sign(artifact_id, expires)
        return f"{base}/download/{artifact_id}?expires={expires}&sig={signature}"

    def _sign(self, artifact_id: str, expires: int) -> str:
        message = f"{artifact_id}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def download(
        self, environ: dict[str, Any], start_response, artifact_id: str
    ) -> Iterable[bytes]:
        self.stats.record("download", api=False)
        if environ.get("HTTP_AUTHORIZATION"):
            self.stats.download_authorization_seen = True
            return self._plain(
                start_response,
                400,
                "Only one auth mechanism allowed: "
                "a signed URL must not carry an Authorization header",
            )
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            expires = int(query.get("expires", ""))
        except ValueError:
            return self._plain(start_response, 403, "Missing or malformed signature")
        if not hmac.compare_digest(query.get("sig", ""), self._sign(artifact_id, expires)):
            return self._plain(start_response, 403, "Signature does not match")
        if self.config.clock() > expires:
            return self._plain(start_response, 403, "Request has expired")
        artifact = self.dataset.artifacts.get(artifact_id)
        if artifact is None:
            return self._plain(start_response, 404, "The specified key does not exist")
        fault = self.config.faults.next_download_fault()
        if self.config.faults.download_latency:
            time.sleep(self.config.faults.download_latency)
        if fault:
            self.stats.count("faults", f"download-{fault}")
        if fault == "reset":
            _reset_connection(environ)
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return []
        if fault == "500":
            return self._plain(start_response, 500, "Internal error")
        if fault == "expired":  # as if the URL's time ran out between fetching and using it
            return self._plain(start_response, 403, "Request has expired")
        if fault == "410":  # a storage host refusing one file for a reason of its own
            return self._plain(start_response, 410, "Gone")
        size = artifact.file_size
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/zip"),
                ("Content-Length", str(size)),
            ],
        )
        self.stats.count("by_status", 200)
        if fault == "cut":
            _close_after(environ)
        return self._stream(artifact_id, size, cut=fault == "cut")

    def _stream(self, artifact_id: str, size: int, cut: bool) -> Iterable[bytes]:
        limit = size // 2 if cut else size
        sent = 0
        for chunk in content_chunks(artifact_id, size):
            if sent + len(chunk) > limit:
                chunk = chunk[: limit - sent]
            if not chunk:
                break
            sent += len(chunk)
            with self.stats._lock:
                self.stats.download_bytes += len(chunk)
            yield chunk
            if sent >= limit:
                break

    def _plain(self, start_response, status: int, message: str) -> list[bytes]:
        self.stats.count("by_status", status)
        body = message.encode()
        start_response(
            f"{status} {_REASONS.get(status, 'Error')}",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
        )
        return [body]


def make_app(dataset: Dataset, config: SimulatorConfig | None = None) -> SimulatorApp:
    return SimulatorApp(dataset, config)


def _unauthorized(reason: str) -> ApiError:
    return ApiError(
        401,
        "NOT_AUTHORIZED",
        "Authentication credentials are missing or invalid.",
        f"Provide a properly configured and signed bearer token: {reason}.",
    )


def _close_after(environ: dict[str, Any]) -> None:
    """Ask the server to close the connection after this response (no keep-alive)."""
    environ.get("simulator.state", {})["close"] = True


def _reset_connection(environ: dict[str, Any]) -> None:
    """Drop the connection without a response, as a reset would."""
    _close_after(environ)
    connection = environ.get("simulator.connection")
    if connection is None:
        raise ApiError(500, "UNEXPECTED_ERROR", "Connection reset", "The connection was reset")
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.shutdown(socket.SHUT_RDWR)


def _encode_cursor(cursor: dict[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")


def _decode_cursor(value: str | None, key: str, default: Any = 0) -> Any:
    if value is None:
        return default
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        return int(data[key])
    except (ValueError, KeyError, TypeError):
        raise _invalid("cursor", f"'{value}' is not a valid cursor") from None


def _iso(timestamp: float) -> str:
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


def _issue_counts(issues: Iterable[tuple[int, int, int, int]]) -> dict[str, int]:
    totals = [sum(column) for column in zip(*issues, strict=True)] or [0, 0, 0, 0]
    return {
        "analyzerWarnings": totals[0],
        "errors": totals[1],
        "testFailures": totals[2],
        "warnings": totals[3],
    }


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
