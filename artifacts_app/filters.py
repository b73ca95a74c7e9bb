"""Query parameters of the dashboard, /api/v1/stats, /api/v1/artifacts and /export.csv.

One parser for every page and endpoint: `parse_filters()` turns a QueryDict into a
`Filters` value or raises `FilterError` with a message naming the parameter at fault.
Product and workflow ids are App Store Connect ids; they are resolved to primary keys here
(one query each) so the aggregates stay single-table.
"""

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .models import CiProduct, CiWorkflow, FileType

GRANULARITIES = ("day", "week", "month")
DEFAULT_DAYS = 90
# Ten years of daily buckets is the most one request may ask for.
MAX_DAYS = 3660
MAX_IDS = 50
# Dates outside these years are typing mistakes; inside them every derived date (the range
# before, the instant after the end day) stays within what `datetime` can hold.
MIN_DATE = date(1970, 1, 1)
MAX_DATE = date(2999, 12, 31)
FILE_TYPE_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,39}$")
PRESET_DAYS = (7, 30, 90, 365)


class FilterError(ValueError):
    """A query parameter that cannot be used; the message names it."""


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    granularity: str = "day"
    products: tuple[str, ...] = ()
    workflows: tuple[str, ...] = ()
    file_types: tuple[str, ...] = ()
    product_pks: tuple[int, ...] = field(default=(), compare=False)
    workflow_pks: tuple[int, ...] = field(default=(), compare=False)
    page: int = 1
    # The file type whose per-workflow trend and regressions the dashboard shows.
    trend_type: str = FileType.ARCHIVE
    regression_threshold: float = 0.10
    regression_window: int = 5

    @property
    def start_datetime(self) -> datetime:
        return datetime.combine(self.start, datetime.min.time(), tzinfo=UTC)

    @property
    def end_datetime(self) -> datetime:
        """The first instant after the (inclusive) end day."""
        return datetime.combine(self.end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Filters":
        """The range of equal length just before this one, same other filters."""
        return replace(
            self,
            start=self.start - timedelta(days=self.days),
            end=self.start - timedelta(days=1),
        )

    def query(self, **overrides) -> list[tuple[str, str]]:
        """These filters as URL query pairs (for links that keep the view)."""
        pairs = [
            ("start", self.start.isoformat()),
            ("end", self.end.isoformat()),
            ("granularity", self.granularity),
        ]
        pairs += [("product", p) for p in self.products]
        pairs += [("workflow", w) for w in self.workflows]
        pairs += [("file_type", t) for t in self.file_types]
        for key, value in overrides.items():
            pairs = [(k, v) for k, v in pairs if k != key] + [(key, str(value))]
        return pairs


def today_utc() -> date:
    return timezone.now().astimezone(UTC).date()


def parse_filters(params, today: date | None = None) -> Filters:
    """Validate `params` (a QueryDict) into `Filters`; raise `FilterError` naming the parameter."""
    today = today or today_utc()
    start = _parse_date(params, "start")
    end = _parse_date(params, "end")
    if end is None:
        end = today if start is None else max(today, start)
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise FilterError(f"start: {start.isoformat()} is after end {end.isoformat()}")
    if (end - start).days + 1 > MAX_DAYS:
        raise FilterError(f"start/end: the range may span at most {MAX_DAYS} days")

    granularity = _single(params, "granularity") or "day"
    if granularity not in GRANULARITIES:
        raise FilterError(f"granularity: must be one of day, week, month, not {granularity!r}")

    products = _ids(params, "product")
    workflows = _ids(params, "workflow")
    file_types = _file_types(params, "file_type")
    product_pks = _resolve(CiProduct, products, "product")
    workflow_pks = _resolve(CiWorkflow, workflows, "workflow")

    trend_type = _single(params, "trend_type") or FileType.ARCHIVE
    if not FILE_TYPE_RE.match(trend_type):
        raise FilterError(f"trend_type: {trend_type[:60]!r} is not a file type")

    return Filters(
        start=start,
        end=end,
        granularity=granularity,
        products=products,
        workflows=workflows,
        file_types=file_types,
        product_pks=product_pks,
        workflow_pks=workflow_pks,
        page=_positive_int(params, "page", default=1, maximum=1_000_000),
        trend_type=trend_type,
        regression_threshold=_percent(params, "threshold", settings_default("threshold")),
        regression_window=_positive_int(
            params, "window", default=settings_default("window"), maximum=50
        ),
    )


def settings_default(name):
    if name == "threshold":
        return getattr(settings, "REGRESSION_THRESHOLD_PERCENT", 10) / 100
    return getattr(settings, "REGRESSION_WINDOW_RUNS", 5)


def _single(params, name):
    values = params.getlist(name)
    if len(values) > 1:
        raise FilterError(f"{name}: give it once, not {len(values)} times")
    return values[0].strip() if values else None


def _parse_date(params, name):
    raw = _single(params, name)
    if not raw:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError
        value = date.fromisoformat(raw)
    except ValueError:
        raise FilterError(f"{name}: {raw[:40]!r} is not a date in YYYY-MM-DD form") from None
    if not MIN_DATE <= value <= MAX_DATE:
        raise FilterError(
            f"{name}: must be between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}"
        )
    return value


def _ids(params, name):
    values = []
    for raw in params.getlist(name):
        value = raw.strip()
        if not value:
            continue
        if len(value) > 64 or not re.fullmatch(r"[A-Za-z0-9_.:-]+", value):
            raise FilterError(f"{name}: {value[:40]!r} is not an App Store Connect id")
        if value not in values:
            values.append(value)
    if len(values) > MAX_IDS:
        raise FilterError(f"{name}: at most {MAX_IDS} values")
    return tuple(values)


def _file_types(params, name):
    values = []
    for raw in params.getlist(name):
        value = raw.strip()
        if not value:
            continue
        # Apple may add file types later: accept any value shaped like one.
        if not FILE_TYPE_RE.match(value):
            raise FilterError(f"{name}: {value[:40]!r} is not a file type such as ARCHIVE")
        if value not in values:
            values.append(value)
    return tuple(values)


def _resolve(model, asc_ids, name):
    if not asc_ids:
        return ()
    found = dict(model.objects.filter(asc_id__in=asc_ids).values_list("asc_id", "pk"))
    missing = [asc_id for asc_id in asc_ids if asc_id not in found]
    if missing:
        raise FilterError(f"{name}: no {name} with id {missing[0]!r}")
    return tuple(found[asc_id] for asc_id in asc_ids)


def _positive_int(params, name, default, maximum):
    raw = _single(params, name)
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise FilterError(f"{name}: must be a whole number from 1 to {maximum}")
    return int(raw)


def _percent(params, name, default):
    raw = _single(params, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not 0 < value <= 1000:
        raise FilterError(f"{name}: must be a percentage above 0 and at most 1000")
    return value / 100
