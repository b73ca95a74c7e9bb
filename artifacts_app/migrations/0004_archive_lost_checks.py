from django.db import migrations, models


def count_earlier_losses(apps, schema_editor):
    """Losses recorded before this field existed were seen once: they get their second look."""
    ArchivedArtifact = apps.get_model("artifacts_app", "ArchivedArtifact")
    ArchivedArtifact.objects.filter(status="lost").update(lost_checks=1)


class Migration(migrations.Migration):
    dependencies = [
        ("artifacts_app", "0003_rollup_recount"),
    ]

    operations = [
        migrations.AddField(
            model_name="archivedartifact",
            name="lost_checks",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.RunPython(count_earlier_losses, migrations.RunPython.noop),
    ]
