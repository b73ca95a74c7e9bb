from datetime import UTC

from django.db import migrations, models
from django.db.models import Max
from django.db.models.functions import Coalesce, TruncDay


def fill_largest(apps, schema_editor):
    """Each rollup row's biggest artifact, from the artifacts the rollup has counted."""
    state = apps.get_model("artifacts_app", "ArtifactRollupState").objects.filter(pk=1).first()
    if state is None:
        return
    artifacts = apps.get_model("artifacts_app", "CiArtifact").objects
    daily = apps.get_model("artifacts_app", "ArtifactDailyTotal")
    by_type = apps.get_model("artifacts_app", "ArtifactDailyTypeTotal")
    rows = (
        artifacts.filter(id__lte=state.last_artifact_id)
        .values(
            "account_id",
            "product_id",
            "workflow_id",
            "file_type",
            bucket=TruncDay("run_created_date", tzinfo=UTC),
        )
        .annotate(largest=Coalesce(Max("file_size"), 0))
        .order_by()
    )
    largest = {}
    for row in rows.iterator(chunk_size=5000):
        key = (row["account_id"], row["product_id"], row["workflow_id"], row["file_type"])
        largest[(*key, row["bucket"].astimezone(UTC).date())] = row["largest"]
    changed = []
    for total in daily.objects.iterator(chunk_size=5000):
        key = (total.account_id, total.product_id, total.workflow_id, total.file_type, total.day)
        total.largest = largest.get(key, 0)
        changed.append(total)
    daily.objects.bulk_update(changed, ["largest"], batch_size=500)
    per_type = {}
    for total in changed:
        key = (total.account_id, total.day, total.file_type)
        per_type[key] = max(per_type.get(key, 0), total.largest)
    changed = []
    for total in by_type.objects.iterator(chunk_size=5000):
        total.largest = per_type.get((total.account_id, total.day, total.file_type), 0)
        changed.append(total)
    by_type.objects.bulk_update(changed, ["largest"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("artifacts_app", "0013_metrics_and_archive_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="artifactdailytotal",
            name="largest",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="artifactdailytypetotal",
            name="largest",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.RunPython(fill_largest, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="cibuildrun",
            index=models.Index(
                fields=["product", "-created_date", "-number"], name="run_product_created_idx"
            ),
        ),
    ]
