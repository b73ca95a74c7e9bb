"""A database from before accounts: its mirror moves into the account `default`, no re-sync."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("artifacts_app", "0008_operations")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
class SingleAccountMigrationTests:
    def test_every_row_of_a_one_team_database_belongs_to_default_after_migrating(self):
        latest = MigrationExecutor(connection).loader.graph.leaf_nodes("artifacts_app")
        try:
            old = _migrate(BEFORE)
            when = datetime(2026, 11, 1, tzinfo=UTC)
            product = old.get_model("artifacts_app", "CiProduct").objects.create(
                asc_id="P1", name="App"
            )
            workflow = old.get_model("artifacts_app", "CiWorkflow").objects.create(
                asc_id="W1", name="Release", product=product
            )
            run = old.get_model("artifacts_app", "CiBuildRun").objects.create(
                asc_id="R1", product=product, workflow=workflow, number=1, created_date=when
            )
            action = old.get_model("artifacts_app", "CiBuildAction").objects.create(
                asc_id="A1", build_run=run, name="Archive"
            )
            old.get_model("artifacts_app", "CiArtifact").objects.create(
                asc_id="F1", build_action=action, build_run=run, workflow=workflow,
                product=product, file_type="ARCHIVE", file_size=10, run_created_date=when,
            )  # fmt: skip
            old.get_model("artifacts_app", "SyncRun").objects.create(status="succeeded")

            new = _migrate(latest)

            Account = new.get_model("artifacts_app", "Account")
            assert list(Account.objects.values_list("name", flat=True)) == ["default"]
            default = Account.objects.get()
            for name in ("CiProduct", "CiWorkflow", "CiBuildRun", "CiBuildAction", "CiArtifact"):
                rows = new.get_model("artifacts_app", name).objects.all()
                assert [row.account_id for row in rows] == [default.pk], name
            assert new.get_model("artifacts_app", "SyncRun").objects.get().account_id == (
                default.pk
            )
            artifact = new.get_model("artifacts_app", "CiArtifact").objects.get()
            assert (artifact.asc_id, artifact.file_size) == ("F1", 10)
        finally:
            _migrate(latest)
