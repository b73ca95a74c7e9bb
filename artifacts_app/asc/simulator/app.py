"""The simulator's WSGI app: authenticate, spend the budget, inject faults, route, respond."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from .auth import bearer_token
from .budget import HourlyBudget
from .dataset import Dataset
from .downloads import Downloads
from .errors import (
    REASONS,
    ApiError,
    method_not_allowed,
    no_such_path,
    rate_limited,
    server_error,
    unauthorized,
)
from .faults import Faults, close_after, reset_connection
from .handlers import Api
from .layouts import download_body
from .query import parse_request
from .routes import find_route
from .stats import Stats


@dataclass
class SimulatorConfig:
    """Runtime knobs; tests may change any of them while the server runs."""

    public_key: str | None = None  # PEM; when set, signatures are verified
    key_id: str | None = None  # when set, the token's kid must match
    issuer_id: str | None = None  # when set, a team key: iss must match
    individual_key: bool = False  # when set, tokens must carry sub "user" and no iss
    budget: int | None = None  # requests per rolling hour; None is unlimited
    download_expiry: float = 600.0  # seconds a downloadUrl stays valid
    honour_ranges: bool = True  # False: answer 200 with the whole file, as some hosts do
    faults: Faults = field(default_factory=Faults)
    clock: Callable[[], float] = time.time  # for token expiry, budget window and URL expiry


class SimulatorApp:
    """A WSGI callable. ``make_app(dataset, config)`` builds one."""

    def __init__(self, dataset: Dataset, config: SimulatorConfig | None = None):
        self.dataset = dataset
        self.config = config or SimulatorConfig()
        self.stats = Stats()
        self.budget = HourlyBudget(lambda: self.config.budget, lambda: self.config.clock())
        self.downloads = Downloads(
            dataset, self.config, self.stats, body_for=partial(download_body, dataset)
        )
        self.api = Api(dataset, self.downloads.url)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/download/"):
            return self.downloads(environ, start_response, path.removeprefix("/download/"))
        found = find_route(path)
        self.stats.record(found[0].kind if found else "unknown", api=True)
        try:
            if environ.get("REQUEST_METHOD", "GET") != "GET":
                raise method_not_allowed()
            self.stats.token_accepted(bearer_token(environ, self.config))
            self.budget.spend()
            request = f"GET {path}?{environ.get('QUERY_STRING', '')}"
            fault = self.config.faults.next_api_fault(request)
            if self.config.faults.latency:
                time.sleep(self.config.faults.latency)
            if fault:
                self.stats.count("faults", fault)
                early = self._early_fault(fault, environ, start_response)
                if early is not None:
                    return early
            if found is None:
                raise no_such_path(path)
            route, ids = found
            request = parse_request(environ, route.parameters)
            status, document = 200, route.handler(self.api, request, *ids)
        except ApiError as error:
            status, document, fault = error.status, error.document(), None
        body = json.dumps(document).encode()
        if fault == "truncate":
            close_after(environ)
            return self._respond(start_response, status, body[: len(body) // 2], len(body))
        if fault == "invalid-json":
            body = body[: len(body) // 2]
        return self._respond(start_response, status, body)

    def download_url(self, base: str, artifact_id: str) -> str:
        return self.downloads.url(base, artifact_id)

    def reset_budget(self) -> None:
        self.budget.reset()

    @property
    def budget_remaining(self) -> int | None:
        return self.budget.remaining

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
            ("X-Rate-Limit", self.budget.header()),
            *(extra or []),
        ]
        start_response(f"{status} {REASONS.get(status, 'Error')}", headers)
        return [body]

    def _early_fault(
        self, fault: str, environ: dict[str, Any], start_response
    ) -> list[bytes] | None:
        """The answer for a fault that replaces the response; None for those that mangle it."""
        if fault == "reset":
            reset_connection(environ)
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return []
        extra = []
        if fault in ("429", "429-retry-after"):
            error = rate_limited()
            if fault.endswith("retry-after"):
                extra = [("Retry-After", str(self.config.faults.retry_after))]
        elif fault == "401":
            error = unauthorized("the token was refused (a transient failure)")
        elif fault in ("500", "503"):
            error = server_error(int(fault))
        else:
            return None  # truncate / invalid-json mangle the real response later
        body = json.dumps(error.document()).encode()
        return self._respond(start_response, error.status, body, extra=extra)


def make_app(dataset: Dataset, config: SimulatorConfig | None = None) -> SimulatorApp:
    return SimulatorApp(dataset, config)
