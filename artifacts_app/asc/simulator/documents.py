"""JSON:API documents: one resource, a page of resources with its links and paging meta."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from .query import Request, decode_cursor, encode_cursor
from .records import SimRun

Resource = dict[str, Any]


def single(request: Request, resource: Resource, included: list[Resource] | None = None):
    document: dict[str, Any] = {"data": resource, "links": {"self": self_link(request)}}
    return _with_included(document, included or [])


def _with_included(document: dict[str, Any], included: list[Resource]) -> dict[str, Any]:
    if included:
        document["included"] = included
    return document


def page(
    request: Request,
    items: list[Any],
    render: Callable[[Any], Resource],
    included: Callable[[list[Any]], list[Resource]] | None = None,
) -> dict[str, Any]:
    """Offset pagination behind an opaque cursor; ``included`` gets the page's items."""
    limit = request.limit
    offset = decode_cursor(request.query.get("cursor"), "o")
    shown = items[offset : offset + limit]
    more = offset + limit < len(items)
    document = list_document(
        request, [render(i) for i in shown], len(items), {"o": offset + limit} if more else None
    )
    return _with_included(document, included(shown) if included else [])


def run_page(
    request: Request,
    runs: list[SimRun],
    render: Callable[[SimRun], Resource],
    included: Callable[[list[SimRun]], list[Resource]],
) -> dict[str, Any]:
    """Keyset pagination by number, so runs created mid-walk do not shift the pages."""
    limit = request.limit
    descending = request.query.get("sort", "number") == "-number"
    after = decode_cursor(request.query.get("cursor"), "n", default=None)
    ordered = list(reversed(runs)) if descending else runs
    if after is not None:
        ordered = [r for r in ordered if (r.number < after if descending else r.number > after)]
    shown = ordered[:limit]
    cursor = {"n": shown[-1].number} if len(ordered) > limit else None
    document = list_document(request, [render(r) for r in shown], len(runs), cursor)
    return _with_included(document, included(shown))


def list_document(
    request: Request, data: list[Resource], total: int, cursor: dict[str, int] | None
) -> dict[str, Any]:
    links = {"self": self_link(request)}
    if cursor is not None:
        query = {k: v for k, v in request.query.items() if k != "cursor"}
        query["cursor"] = encode_cursor(cursor)
        links["next"] = f"{request.base}{request.path}?{urlencode(query)}"
    paging = {"total": total, "limit": request.limit}
    return {"data": data, "links": links, "meta": {"paging": paging}}


def self_link(request: Request) -> str:
    query = f"?{urlencode(request.query)}" if request.query else ""
    return f"{request.base}{request.path}{query}"


def linkage(kind: str, resource_id: str) -> dict[str, str]:
    return {"type": kind, "id": resource_id}


def iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
