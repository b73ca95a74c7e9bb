"""The daily rollup of artifact counts and sizes: its maintenance, by writers only.

`ArtifactDailyTotal` (per day × product × workflow × type) and `ArtifactDailyTypeTotal` (per
day × type) hold every artifact up to `ArtifactRollupState.last_artifact_id`, the watermark.
The sync calls `refresh_rollup()` after each pass; readers never do: they add the artifacts
above the watermark from the mirror rows themselves (`stats`), so a page load takes no write
lock and never waits behind a running sync, and its figures are never behind the mirror.
"""

from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import Coalesce, TruncDay

from .models import ArtifactDailyTotal, ArtifactDailyTypeTotal, ArtifactRollupState, CiArtifact


def refresh_rollup(rebuild: bool = False, days=()) -> int:
    """Fold artifacts added since the last refresh into the rollup.

    Every day that gained an artifact is recounted from `CiArtifact` (delete, then insert the
    day's GROUP BY of the artifacts up to the new watermark), so a refresh is idempotent and
    never counts a row twice. New rows are found by id; a writer that changes existing
    artifacts (a size, or a run's date, workflow or product) passes the UTC `days` they left
    and joined. `rebuild` recounts everything. Returns the number of rollup rows written.
    """
    with transaction.atomic():
        state, _ = ArtifactRollupState.objects.select_for_update().get_or_create(pk=1)
        top = CiArtifact.objects.aggregate(top=Max("id"))["top"] or 0
        if rebuild:
            ArtifactDailyTotal.objects.all().delete()
            ArtifactDailyTypeTotal.objects.all().delete()
            new = CiArtifact.objects.filter(id__lte=top)
        elif top == state.last_artifact_id and not days:
            return 0
        else:
            new = CiArtifact.objects.filter(id__gt=state.last_artifact_id, id__lte=top)
        bounds = new.aggregate(low=Min("run_created_date"), high=Max("run_created_date"))
        written, recounted = 0, None
        if bounds["low"] is not None:
            recounted = (utc_date(bounds["low"]), utc_date(bounds["high"]))
            written = _recount_days(*recounted, top=top)
        for day in sorted({utc_date(day) for day in days}):
            if recounted is None or not recounted[0] <= day <= recounted[1]:
                written += _recount_days(day, day, top=top)
        state.last_artifact_id = top
        state.save()
    return written


def _recount_days(first: date, last: date, top: int) -> int:
    ArtifactDailyTotal.objects.filter(day__gte=first, day__lte=last).delete()
    ArtifactDailyTypeTotal.objects.filter(day__gte=first, day__lte=last).delete()
    rows = (
        CiArtifact.objects.filter(
            id__lte=top,  # above the watermark, readers add them from the mirror rows
            run_created_date__gte=midnight(first),
            run_created_date__lt=midnight(last + timedelta(days=1)),
        )
        .values(
            "account_id",
            "product_id",
            "workflow_id",
            "file_type",
            bucket=TruncDay("run_created_date", tzinfo=UTC),
        )
        .annotate(
            n=Count("id"), size=Coalesce(Sum("file_size"), 0), largest=Coalesce(Max("file_size"), 0)
        )
        .order_by()
    )
    totals = []
    for row in rows.iterator(chunk_size=5000):
        day = utc_date(row["bucket"])
        totals.append(
            ArtifactDailyTotal(
                day=day,
                week=day - timedelta(days=day.weekday()),
                month=day.replace(day=1),
                account_id=row["account_id"],
                product_id=row["product_id"],
                workflow_id=row["workflow_id"],
                file_type=row["file_type"],
                count=row["n"],
                bytes=row["size"],
                largest=row["largest"],
            )
        )
    ArtifactDailyTotal.objects.bulk_create(totals, batch_size=2000)
    by_type = (
        ArtifactDailyTotal.objects.filter(day__gte=first, day__lte=last)
        .values("account_id", "day", "week", "month", "file_type")
        .annotate(n=Sum("count"), size=Sum("bytes"), largest=Max("largest"))
        .order_by()
    )
    ArtifactDailyTypeTotal.objects.bulk_create(
        (
            ArtifactDailyTypeTotal(
                day=row["day"],
                week=row["week"],
                month=row["month"],
                account_id=row["account_id"],
                file_type=row["file_type"],
                count=row["n"],
                bytes=row["size"],
                largest=row["largest"],
            )
            for row in by_type
        ),
        batch_size=2000,
    )
    return len(totals)


def utc_date(value) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value


def midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)
