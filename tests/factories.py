"""Small factories for mirror rows: each builds the parents it needs."""

import itertools
from datetime import UTC, datetime

from django.contrib.auth.models import User

from artifacts_app.models import (
    Account,
    CiArtifact,
    CiBuildAction,
    CiBuildRun,
    CiProduct,
    CiWorkflow,
    default_account,
)

_ids = itertools.count(1)


def _asc_id(prefix):
    return f"{prefix}-{next(_ids):06d}"


def make_product(**fields):
    fields.setdefault("asc_id", _asc_id("product"))
    fields.setdefault("name", "Demo App")
    fields.setdefault("product_type", "APP")
    if "account" not in fields:
        fields["account"] = default_account()
    return CiProduct.objects.create(**fields)


def make_workflow(product=None, **fields):
    fields.setdefault("asc_id", _asc_id("workflow"))
    fields.setdefault("name", "Release")
    product = product or make_product()
    return CiWorkflow.objects.create(product=product, account_id=product.account_id, **fields)


def make_build_run(workflow=None, **fields):
    workflow = workflow or make_workflow()
    fields.setdefault("asc_id", _asc_id("run"))
    fields.setdefault("number", next(_ids))
    fields.setdefault("created_date", datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    fields.setdefault("execution_progress", "COMPLETE")
    fields.setdefault("completion_status", "SUCCEEDED")
    return CiBuildRun.objects.create(
        workflow=workflow, product=workflow.product, account_id=workflow.account_id, **fields
    )


def make_build_action(build_run=None, **fields):
    fields.setdefault("asc_id", _asc_id("action"))
    fields.setdefault("name", "Archive - iOS")
    fields.setdefault("action_type", "ARCHIVE")
    build_run = build_run or make_build_run()
    return CiBuildAction.objects.create(
        build_run=build_run, account_id=build_run.account_id, **fields
    )


def make_artifact(build_action=None, **fields):
    action = build_action or make_build_action()
    run = action.build_run
    fields.setdefault("asc_id", _asc_id("artifact"))
    fields.setdefault("file_type", "ARCHIVE")
    fields.setdefault("file_name", "App.xcarchive.zip")
    fields.setdefault("file_size", 250_000_000)
    return CiArtifact.objects.create(
        build_action=action,
        build_run=run,
        workflow=run.workflow,
        product=run.product,
        account_id=run.account_id,
        run_created_date=run.created_date,
        **fields,
    )


def make_account(name, **fields):
    return Account.objects.create(name=name, **fields)


def grant(user, account=None):
    """Let `user` see `account`'s data (the `default` account's by default); returns user."""
    (account or default_account()).users.add(user)
    return user


def reader():
    """A superuser, who sees every account: for reading figures outside a request."""
    user, _ = User.objects.get_or_create(
        username="reader", defaults={"is_superuser": True, "is_staff": True}
    )
    return user
