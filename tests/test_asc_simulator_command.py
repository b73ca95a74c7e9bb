"""python manage.py asc_simulator: serves until SIGTERM, refuses bad options clearly."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from artifacts_app import demo
from artifacts_app.asc import AscClient, TokenProvider
from tests.http_receiver import Receiver
from tests.simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONUNBUFFERED": "1"}


def manage(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "manage.py", "asc_simulator", *args],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


class AscSimulatorCommandTests:
    def test_serves_a_verified_api_until_sigterm(self, asc_key, tmp_path):
        public_key = tmp_path / "public.pem"
        public_key.write_text(asc_key.public_pem)
        process = manage(
            "--port",
            "0",
            "--runs",
            "30",
            "--speed",
            "0",
            "--public-key",
            str(public_key),
            "--key-id",
            SIM_KEY_ID,
            "--issuer-id",
            SIM_ISSUER_ID,
        )
        try:
            banner = process.stdout.readline()
            assert banner.startswith("App Store Connect simulator on http://127.0.0.1:")
            base_url = banner.split()[5]
            tokens = TokenProvider(SIM_KEY_ID, asc_key.private_pem, SIM_ISSUER_ID)
            client = AscClient(base_url, tokens, timeout=(2, 5), backoff=0.001)
            products = list(client.products())
            assert len(products) == 3
            assert requests.get(base_url + "/v1/ciProducts", timeout=5).status_code == 401
        finally:
            process.send_signal(signal.SIGTERM)
            exit_code = process.wait(timeout=10)
        assert exit_code == 0

    def test_unknown_fault_kind_fails_with_a_one_line_error(self):
        process = manage("--port", "0", "--fault", "bogus=0.5")
        _, stderr = process.communicate(timeout=30)
        assert process.returncode != 0
        assert "--fault: unknown kind 'bogus'" in stderr
        assert "Traceback" not in stderr

    def test_demo_serves_make_runs_account_and_prints_settings_that_reach_it(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = manage("--demo", "--port", str(port), "--runs", "20", "--speed", "0")
        try:
            lines = [process.stdout.readline() for _ in range(4)]
            assert lines[0].startswith("Point manage.py commands at it")
            exported = dict(pair.split("=", 1) for pair in lines[1].split()[1:])
            assert lines[2].strip() == ".venv/bin/python manage.py sync_artifacts"
            assert lines[3].startswith(f"App Store Connect simulator on http://127.0.0.1:{port}")
            key = (ROOT / exported["ASC_PRIVATE_KEY_PATH"]).read_text()
            tokens = TokenProvider(exported["ASC_KEY_ID"], key, exported["ASC_ISSUER_ID"])
            client = AscClient(exported["ASC_API_BASE_URL"], tokens, timeout=(2, 5))
            assert len(list(client.products())) == demo.DEMO_DATASET["products"]
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0

    def test_webhook_url_receives_deliveries_as_the_clock_runs(self):
        with Receiver() as receiver:
            process = manage(
                "--port",
                "0",
                "--runs",
                "30",
                "--speed",
                "3600",  # an hour a second: runs are created, start and finish at once
                "--webhook-url",
                f"http://127.0.0.1:{receiver.port}/hooks/xcode-cloud/t",
            )
            try:
                deadline = time.monotonic() + 60
                while not any(
                    body["metadata"]["attributes"]["eventType"] == "BUILD_COMPLETED"
                    for body in receiver.received
                ):
                    assert time.monotonic() < deadline, receiver.received
                    assert process.poll() is None, process.communicate()
                    time.sleep(0.2)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=10)
        assert {body["path"] for body in receiver.received} == {"/hooks/xcode-cloud/t"}
        assert all(body["ciBuildRun"]["id"] for body in receiver.received)
