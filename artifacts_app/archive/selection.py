"""Which artifacts a command or admin action is about: by type, product, workflow and date."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import QuerySet

from ..models import Account, CiArtifact, FileType


@dataclass(frozen=True)
class Selection:
    """Filters on mirror rows; empty means "all". Ids are App Store Connect ids."""

    file_types: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    workflows: tuple[str, ...] = ()
    since: date | None = None  # build run created on or after this day (UTC)
    until: date | None = None  # ... and on or before this one
    artifact_pks: tuple[int, ...] | None = None  # exactly these rows (the admin action)
    accounts: tuple[int, ...] = ()  # account pks: each account's key reads only its artifacts

    def artifacts(self) -> QuerySet[CiArtifact]:
        queryset = CiArtifact.objects.all()
        if self.accounts:
            queryset = queryset.of_accounts(self.accounts)
        if self.file_types:
            queryset = queryset.filter(file_type__in=self.file_types)
        if self.products:
            queryset = queryset.filter(product__asc_id__in=self.products)
        if self.workflows:
            queryset = queryset.filter(workflow__asc_id__in=self.workflows)
        if self.since:
            queryset = queryset.filter(run_created_date__gte=_midnight(self.since))
        if self.until:
            queryset = queryset.filter(run_created_date__lt=_midnight(self.until + timedelta(1)))
        if self.artifact_pks is not None:
            queryset = queryset.filter(pk__in=self.artifact_pks)
        return queryset

    def of_account(self, account) -> Selection:
        """The same filters, within one account."""
        return replace(self, accounts=(account.pk,))

    def account_list(self) -> list:
        """The accounts whose artifacts the selection holds (one query)."""
        pks = self.artifacts().order_by().values("account_id").distinct()
        return list(Account.objects.filter(pk__in=pks))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def unknown_file_types(file_types: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(the given types that match nothing, every valid type): Apple's enum plus any type the
    mirror holds, since Apple adds types before we know their names."""
    unknown = set(file_types) - set(FileType.values)
    if unknown:
        stored = CiArtifact.objects.filter(file_type__in=unknown).values_list("file_type")
        unknown -= {file_type for (file_type,) in stored.distinct()}
    if not unknown:
        return [], []
    stored_types = CiArtifact.objects.exclude(file_type="").values_list("file_type", flat=True)
    valid = sorted(set(FileType.values) | set(stored_types.distinct()))
    return [t for t in file_types if t in unknown], valid
