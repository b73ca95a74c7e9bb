"""Upgrading a one-team install: its users keep seeing its data after accounts arrive."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TransactionTestCase

BEFORE = [("artifacts_app", "0011_account_keys_and_webhook_tokens")]
AFTER = [("artifacts_app", "0012_grant_default_to_existing_users")]


class GrantDefaultMigrationTests(TransactionTestCase):
    def migrate(self, targets):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    def tearDown(self):
        self.migrate(executor_leaf())

    def test_every_existing_user_is_granted_the_default_account(self):
        apps = self.migrate(BEFORE)
        users = apps.get_model("auth", "User")
        dana = users.objects.create(username="dana")
        users.objects.create(username="gone", is_active=False)
        apps.get_model("artifacts_app", "Account").objects.create(name="default")

        apps = self.migrate(AFTER)

        account = apps.get_model("artifacts_app", "Account").objects.get(name="default")
        self.assertEqual(list(account.users.values_list("pk", flat=True)), [dana.pk])

    def test_a_fresh_install_grants_nothing(self):
        apps = self.migrate(BEFORE)
        apps.get_model("auth", "User").objects.create(username="dana")

        apps = self.migrate(AFTER)

        self.assertFalse(apps.get_model("artifacts_app", "Account").objects.exists())


def executor_leaf():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
