"""What a page or endpoint asks about: a date range, filters and the view's settings.

`Scope` is what `forms.FilterForm` yields and what every function of `stats` takes. Product
and workflow ids are App Store Connect ids, resolved to primary keys by the form (one query
each) so the aggregates stay single-table.

A scope always says which App Store Connect accounts it reads (`account_pks`, a required
keyword): the form fills it with the accounts visible to the request's user, and
`Scope.of_accounts` applies it to every query (`stats.in_scope` and every other reader go
through it), so no figure can be computed across accounts a user was not granted.
"""

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from .models import FileType


@dataclass(frozen=True)
class Scope:
    start: date
    end: date
    granularity: str = "day"
    products: tuple[str, ...] = ()
    workflows: tuple[str, ...] = ()
    file_types: tuple[str, ...] = ()
    product_pks: tuple[int, ...] = field(default=(), compare=False)
    workflow_pks: tuple[int, ...] = field(default=(), compare=False)
    page: int = 1
    # The file type whose per-workflow trend and regressions are shown when no file type
    # narrows the view (see `trend_types`).
    trend_type: str = FileType.ARCHIVE
    regression_threshold: float = 0.10
    regression_window: int = 5
    # Runs of these source branches or tags only.
    branches: tuple[str, ...] = ()
    # Runs of a commit: a SHA or a prefix of at least 7 hex digits, lower case.
    commit: str = ""
    # A commit asked without start or end is looked up over all time (runs only).
    commit_all_time: bool = field(default=False, compare=False)
    # Account names asked for with `account=` (empty: every account visible to the user).
    accounts: tuple[str, ...] = ()
    # The accounts read: those asked for, else every one visible to the user. No default,
    # so a scope cannot be built without deciding whose data it reads.
    account_pks: tuple[int, ...] = field(kw_only=True, compare=False)
    # Those are every account there is (a superuser's view, a one-team install): queries
    # then leave the account filter out and stay what they were before accounts.
    every_account: bool = field(default=False, kw_only=True, compare=False)

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

    @property
    def trend_types(self) -> tuple[str, ...]:
        """The file types the trend and regressions add up: those the view is narrowed to,
        else the one chosen for the trend (archives by default)."""
        return self.file_types or (self.trend_type,)

    @property
    def narrowed(self) -> bool:
        """Whether products, workflows, file types or branches narrow the view."""
        return bool(self.product_pks or self.workflow_pks or self.file_types or self.branches)

    @property
    def several_accounts(self) -> bool:
        """Whether rows of more than one account may be shown: names then say whose they are
        (two teams often name their apps and workflows alike)."""
        return len(self.account_pks) > 1

    def of_accounts(self, qs):
        """`qs` (rows that carry an account) narrowed to the accounts this scope reads."""
        return qs if self.every_account else qs.of_accounts(self.account_pks)

    def previous(self) -> "Scope":
        """The range of equal length just before this one, same other filters."""
        return replace(
            self,
            start=self.start - timedelta(days=self.days),
            end=self.start - timedelta(days=1),
        )

    def query(self, **overrides) -> list[tuple[str, str]]:
        """This scope as URL query pairs (for links that keep the view)."""
        pairs = [
            ("start", self.start.isoformat()),
            ("end", self.end.isoformat()),
            ("granularity", self.granularity),
        ]
        pairs += [("account", a) for a in self.accounts]
        pairs += [("product", p) for p in self.products]
        pairs += [("workflow", w) for w in self.workflows]
        pairs += [("file_type", t) for t in self.file_types]
        pairs += [("branch", b) for b in self.branches]
        for key, value in overrides.items():
            pairs = [(k, v) for k, v in pairs if k != key] + [(key, str(value))]
        return pairs
