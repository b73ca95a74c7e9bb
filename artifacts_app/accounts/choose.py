"""The accounts a command works on: those named with `--account`, else every one with a key."""

from __future__ import annotations

from ..connection import credentials_configured, has_key
from ..models import Account, default_account


class UnknownAccount(ValueError):
    """An `--account` name that names no account (the message lists the known ones)."""


def accounts_named(names) -> list[Account]:
    """The accounts `names` asks for, in that order; with no names, every account that has a
    key, or `default` alone when none has one (so its error says which setting is missing)."""
    names = list(dict.fromkeys(n for n in names or () if n))
    if not names:
        if credentials_configured():
            default_account()  # the ASC_* key's account, before it ever synced
        with_key = [account for account in Account.objects.all() if has_key(account)]
        return with_key or [default_account()]
    found = {account.name: account for account in Account.objects.filter(name__in=names)}
    missing = [name for name in names if name not in found]
    if missing:
        known = ", ".join(Account.objects.values_list("name", flat=True)) or "none yet"
        raise UnknownAccount(
            f"--account: no account named {missing[0]!r}; known accounts: {known} "
            "(add one with `manage.py asc_account add`)"
        )
    return [found[name] for name in names]
