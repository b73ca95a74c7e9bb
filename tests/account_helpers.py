"""Two App Store Connect teams side by side: a simulator and a key each, and their accounts."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from artifacts_app.accounts.service import add_account
from artifacts_app.models import Account
from tests.simulator_fixtures import KeyPair, make_key_pair, start_simulator


@dataclass
class Team:
    """One team: its simulated account, its key, and the ids the key signs with."""

    name: str
    key: KeyPair
    key_id: str
    issuer_id: str
    simulator: object

    @property
    def product_ids(self) -> set[str]:
        return {product.id for product in self.simulator.dataset.products}

    def add_account(self, name: str | None = None, **changes) -> Account:
        values = {
            "key_id": self.key_id,
            "issuer_id": self.issuer_id,
            "pem": self.key.private_pem,
            "base_url": self.simulator.base_url,
            **changes,
        }
        return add_account(name or self.name, **values)


def start_team(name: str, seed: int, **options) -> Team:
    key = make_key_pair()
    key_id = f"KEY{name.upper():0<7}"[:10]
    issuer_id = f"00000000-0000-4000-8000-{seed:012d}"
    simulator = start_simulator(
        key, seed=seed, key_id=key_id, issuer_id=issuer_id, **{"runs": 24, **options}
    )
    return Team(name, key, key_id, issuer_id, simulator)


@pytest.fixture
def teams():
    """Two teams with different keys and data, each on its own simulator."""
    started = [start_team("alpha", 7), start_team("beta", 11, products=2)]
    yield started
    for team in started:
        team.simulator.stop()
