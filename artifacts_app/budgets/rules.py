"""Adding, listing and removing size budgets (what the `size_budget` command and admin call)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import apprise
from django.db import IntegrityError, transaction

from ..models import Account, CiArtifact, CiProduct, CiWorkflow, FileType, default_account
from ..units import format_bytes
from .models import SizeBudget
from .notify import mask


class BudgetError(ValueError):
    """A rule that cannot be stored; the message names the option at fault."""


def add_budget(
    name: str,
    *,
    max_bytes: int | None = None,
    max_growth: str | None = None,
    product: str = "",
    workflow: str = "",
    branch: str = "",
    file_type: str = "",
    notify: list[str] | tuple[str, ...] = (),
    account: Account | None = None,
) -> SizeBudget:
    if (max_bytes is None) == (max_growth is None):
        raise BudgetError("give exactly one of --max-bytes and --max-growth")
    if max_bytes is not None and max_bytes < 0:
        raise BudgetError("--max-bytes must be zero or more")
    budget = SizeBudget(
        account=account or default_account(),
        name=name.strip(),
        max_bytes=max_bytes,
        max_growth_percent=None if max_growth is None else parse_percent(max_growth),
        product_asc_id=product,
        workflow_asc_id=workflow,
        branch=branch,
        file_type=check_file_type(file_type),
    )
    if not budget.name:
        raise BudgetError("the budget needs a name")
    check_scope(product, workflow, account=budget.account)
    budget.notify_urls = check_urls(notify)
    try:
        with transaction.atomic():
            budget.save()
    except IntegrityError:
        raise BudgetError(f"a budget named {budget.name!r} exists: remove it first") from None
    return budget


def remove_budget(name: str) -> None:
    deleted, _ = SizeBudget.objects.filter(name=name).delete()
    if not deleted:
        raise BudgetError(f"no budget named {name!r}: `size_budget list` shows them")


def parse_percent(text: str) -> Decimal:
    try:
        value = Decimal(str(text).strip().rstrip("%"))
    except InvalidOperation:
        raise BudgetError(
            f"--max-growth must be a percentage such as 10 or 2.5, not {text!r}"
        ) from None
    if not value.is_finite() or value < 0 or value >= 10**7:
        raise BudgetError("--max-growth must be a percentage from 0 up")
    return value.quantize(Decimal("0.01"))


def check_file_type(value: str) -> str:
    value = (value or "").strip().upper()
    known = set(FileType.values)
    if value and value not in known and not CiArtifact.objects.filter(file_type=value).exists():
        raise BudgetError(f"--file-type must be one of {', '.join(sorted(known))}")
    return value


def check_scope(product: str, workflow: str, account=None) -> None:
    """The product and workflow exist (in `account`, when a budget's account is known)."""
    products, workflows = CiProduct.objects.all(), CiWorkflow.objects.all()
    if account is not None:
        products = products.of_accounts([account.pk])
        workflows = workflows.of_accounts([account.pk])
    if product and not products.filter(asc_id=product).exists():
        raise BudgetError(f"--product {product}: no such product synced; check the id")
    if workflow and not workflows.filter(asc_id=workflow).exists():
        raise BudgetError(f"--workflow {workflow}: no such workflow synced; check the id")


def check_urls(urls) -> list[str]:
    urls = [url.strip() for url in urls if url and url.strip()]
    for url in urls:
        if apprise.Apprise.instantiate(url) is None:
            scheme = url.partition("://")[0]
            raise BudgetError(f"--notify {scheme}://…: not an Apprise URL (see Apprise's list)")
    return urls


def describe(budget: SizeBudget) -> str:
    """One line: name, limit, scope and where alerts go (URLs masked)."""
    if budget.max_bytes is not None:
        limit = f"max {format_bytes(budget.max_bytes)} ({budget.max_bytes} bytes)"
    else:
        limit = f"max growth {budget.max_growth_percent.normalize():f}% over the baseline"
    scope = [
        f"{label} {value}"
        for label, value in (
            ("product", budget.product_asc_id),
            ("workflow", budget.workflow_asc_id),
            ("branch", budget.branch),
            ("file type", budget.file_type),
        )
        if value
    ]
    try:
        targets = [mask(url) for url in budget.notify_urls]
    except ValueError as exc:
        targets = [str(exc)]
    return "  ".join(
        [
            budget.name,
            limit,
            ", ".join(scope) or "every run",
            "notify " + ", ".join(targets) if targets else "no notification",
        ]
    )
