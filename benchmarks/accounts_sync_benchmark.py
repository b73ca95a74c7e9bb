"""Benchmark: several teams in one install, each synced with its own key.

    .venv/bin/python benchmarks/accounts_sync_benchmark.py [--teams 3] [--runs 300]

One simulator per team (its own key and data). Prints, per account: the calls and time of a
first pass and of a second pass with nothing new, next to the same team synced alone as the
only account, so the cost of accounts (the team check reuses the product listing the walk
needs anyway) shows as the difference; then the calls a key of another team spends before it
is refused. A fresh temporary SQLite database unless DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=3)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)

    temp = tempfile.TemporaryDirectory()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{temp.name}/bench.sqlite3")
    os.environ.update(
        {
            "SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnop",
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "ASC_DEMO_DATA": "false",
            "INSPECT_AFTER_SYNC": "false",
            "FIELD_ENCRYPTION_KEY": "l0Ly3nfHPpB0dRw9mX8c7Qk2oDqvCz1y8y3Zr9w8T5E=",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    from artifacts_app.accounts.service import add_account, update_account
    from artifacts_app.asc.simulator import run_in_thread
    from artifacts_app.asc.simulator.keys import generate_key_pair
    from artifacts_app.models import Account, CiArtifact, SyncRun

    call_command("migrate", verbosity=0)
    teams = []
    for index in range(args.teams):
        private_pem, public_pem = generate_key_pair()
        key_id, issuer = f"BENCH{index:05d}", f"00000000-0000-4000-8000-{index:012d}"
        simulator = run_in_thread(
            seed=100 + index,
            runs=args.runs,
            size_scale=1e-5,
            public_key=public_pem,
            key_id=key_id,
            issuer_id=issuer,
        )
        teams.append((f"team{index}", key_id, issuer, private_pem, simulator))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    def sync(*names) -> float:
        started = time.perf_counter()
        options = [arg for name in names for arg in ("--account", name)]
        call_command("sync_artifacts", "--reserve", "0", *options, stdout=io.StringIO())
        return time.perf_counter() - started

    def last_pass(name) -> SyncRun:
        return SyncRun.objects.filter(account__name=name).first()

    try:
        # The first team alone, as a one-team install would sync it.
        name, key_id, issuer, pem, simulator = teams[0]
        add_account(name, key_id=key_id, issuer_id=issuer, pem=pem, base_url=simulator.base_url)
        alone_first = sync(name)
        alone_first_calls = last_pass(name).api_calls
        alone_second = sync(name)
        alone_second_calls = last_pass(name).api_calls
        print(
            f"{name} alone: first pass {alone_first_calls} calls {alone_first:.2f}s; "
            f"second pass {alone_second_calls} calls {alone_second:.2f}s"
        )

        for name, key_id, issuer, pem, simulator in teams[1:]:
            add_account(name, key_id=key_id, issuer_id=issuer, pem=pem, base_url=simulator.base_url)
        names = [team[0] for team in teams]
        first = sync(*names)
        firsts = {name: last_pass(name).api_calls for name in names}
        second = sync(*names)
        seconds = {name: last_pass(name).api_calls for name in names}
        for name in names:
            artifacts = CiArtifact.objects.filter(account__name=name).count()
            print(
                f"{name}: {artifacts} artifacts; first pass {firsts[name]} calls, "
                f"second pass {seconds[name]} calls"
            )
        print(
            f"all {len(names)} accounts in one command: first pass {first:.2f}s, "
            f"second pass {second:.2f}s (team0's second pass alone: "
            f"{alone_second_calls} calls, with the others: {seconds[names[0]]})"
        )

        # A key of another team, pointed at the first account: refused, nothing written.
        other = teams[1]
        account = Account.objects.get(name=names[0])
        update_account(
            account, key_id=other[1], issuer_id=other[2], pem=other[3], base_url=other[4].base_url
        )
        rows_before = CiArtifact.objects.filter(account=account, gone_upstream_at=None).count()
        try:
            sync(names[0])
        except Exception as exc:  # noqa: BLE001 (the refusal is the figure)
            refused = str(exc)
        else:
            refused = "NOT REFUSED"
        rows_after = CiArtifact.objects.filter(account=account, gone_upstream_at=None).count()
        print(
            f"another team's key: {last_pass(names[0]).api_calls} calls before the refusal, "
            f"live artifacts {rows_before} -> {rows_after}; {refused[:90]}…"
        )
    finally:
        for team in teams:
            team[4].stop()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
