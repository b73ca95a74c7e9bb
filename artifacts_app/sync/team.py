"""An account's rows are bound to its team: a key that answers for another team is refused.

Apple's ids are unique across teams, so a key of another team sees none of the products stored
under the account (and answers 404 for each). A pass first lists the key's products (the
listing the walk needs anyway) and refuses, before it writes anything, when the account has
products that are not gone upstream, none of them is in the listing, and either the listing
names other products or the key differs from the one of the account's last good pass. A key
that sees no product at all, used before, reads as a team that deleted its products.
"""

from __future__ import annotations

from ..connection import key_identity, uses_settings
from ..models import CiProduct
from .errors import SyncError


class TeamMismatch(SyncError):
    """The key answers for another team than the account's rows."""


def check_team(walk, product_ids: list[str]) -> None:
    """Raise `TeamMismatch` when `walk`'s key belongs to another team than its account's rows;
    else bind the account to the key. Leaves the listing on `walk.listed_products` for reuse."""
    writer = walk.writer
    account = writer.account
    identity = key_identity(walk.client)
    changed = bool(account.synced_key) and account.synced_key != identity
    live = writer.rows(CiProduct).filter(gone_upstream_at__isnull=True)
    stored = set(live.values_list("asc_id", flat=True))
    if stored and (changed or not product_ids):
        listed = list(walk.client.products())  # the pass's budget guards every call
        walk.listed_products = listed
        seen = {product.id for product in listed}
        if not seen & stored and (seen or changed):
            refuse(walk, len(stored), len(seen))
    writer.bind_key(identity)


def refuse(walk, stored: int, seen: int) -> None:
    account = walk.writer.account
    tokens = walk.client.tokens
    if uses_settings(account):
        fix = "check ASC_KEY_ID, ASC_ISSUER_ID and ASC_API_BASE_URL"
    else:
        fix = f"give it the team's own key (asc_account update {account.name})"
    raise TeamMismatch(
        f"account {account.name}: key {tokens.key_id} answers for another team (it sees none of "
        f"the {stored} products stored under this account, and {seen} others); nothing was "
        f"recorded: {fix}, or add the other team as an account of its own (asc_account add)"
    )
