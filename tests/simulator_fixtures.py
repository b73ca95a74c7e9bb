"""Fixtures for tests that talk to the App Store Connect simulator over loopback.

Keys are generated per test session with cryptography; none is ever written to the repo.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from artifacts_app.asc import AscClient, TokenProvider
from artifacts_app.asc.simulator import run_in_thread
from artifacts_app.asc.simulator.keys import generate_key_pair

SIM_KEY_ID = "SIMKEY1234"
SIM_ISSUER_ID = "69a6de7e-0000-47e3-e053-5b8c7c11a4d1"


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


def make_key_pair() -> KeyPair:
    return KeyPair(*generate_key_pair())


@pytest.fixture(scope="session")
def asc_key() -> KeyPair:
    """An App Store Connect-style P-256 key pair, made fresh for the test session."""
    return make_key_pair()


def start_simulator(asc_key: KeyPair, **options):
    """A simulator on a loopback port that verifies the team key's tokens; ``stop()`` it after.

    Sizes are scaled down so downloads are kilobytes; ``options`` override any of this.
    """
    options = {
        "size_scale": 1e-5,
        "public_key": asc_key.public_pem,
        "key_id": SIM_KEY_ID,
        "issuer_id": SIM_ISSUER_ID,
        **options,
    }
    return run_in_thread(**options)


@pytest.fixture
def simulator(asc_key):
    """A small simulated account on a loopback port, verifying a team key's tokens.

    Change knobs at runtime through ``simulator.config`` / ``simulator.faults``; move time
    with ``simulator.dataset.advance``.
    """
    server = start_simulator(asc_key, seed=7, runs=60)
    yield server
    server.stop()


@pytest.fixture
def asc_tokens(asc_key) -> TokenProvider:
    return TokenProvider(SIM_KEY_ID, asc_key.private_pem, SIM_ISSUER_ID)


@pytest.fixture
def asc_client(simulator, asc_tokens) -> AscClient:
    """A client for ``simulator`` that backs off in milliseconds instead of seconds."""
    return AscClient(
        simulator.base_url, asc_tokens, timeout=(2, 5), backoff=0.001, sleep=lambda _s: None
    )
