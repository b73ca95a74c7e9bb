"""Users of an install from before accounts keep seeing its data: each is granted `default`.

Data is now shown only to the users an account is granted to (superusers see all). An
install upgraded from one team had every user see everything; granting them the account
its data moved into (0009) keeps it so. Users added later are granted explicitly.
"""

from django.conf import settings
from django.db import migrations


def grant_default_to_existing_users(apps, schema_editor):
    Account = apps.get_model("artifacts_app", "Account")
    account = Account.objects.filter(name="default").first()
    if account is None:  # a fresh install: no data, no one to keep it for
        return
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    account.users.add(*User.objects.filter(is_active=True, is_superuser=False))


class Migration(migrations.Migration):
    dependencies = [
        ("artifacts_app", "0011_account_keys_and_webhook_tokens"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(grant_default_to_existing_users, migrations.RunPython.noop),
    ]
