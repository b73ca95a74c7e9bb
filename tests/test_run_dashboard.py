import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from django.contrib.auth import get_user_model
from django.test import SimpleTestCase, TestCase

from artifacts_app import demo
from artifacts_app.bootstrap import ensure_secret_key

ROOT = Path(__file__).resolve().parent.parent


class SecretKeyBootstrapTests(TestCase):
    def test_a_missing_secret_key_is_generated_into_env_once(self):
        with tempfile.TemporaryDirectory() as folder:
            env = Path(folder) / ".env"
            env.write_text("DEBUG=false")  # no trailing newline: the key still gets its own line
            self.assertTrue(ensure_secret_key(env, environ={}))
            first = env.read_text()
            self.assertFalse(ensure_secret_key(env, environ={}))
            self.assertEqual(env.read_text(), first)
            lines = first.splitlines()
            self.assertEqual(lines[0], "DEBUG=false")
            self.assertTrue(lines[1].startswith("SECRET_KEY="))
            self.assertGreater(len(lines[1]), 50)
            self.assertEqual(env.stat().st_mode & 0o777, 0o600)

    def test_a_secret_key_in_the_environment_leaves_env_alone(self):
        with tempfile.TemporaryDirectory() as folder:
            env = Path(folder) / ".env"
            self.assertFalse(ensure_secret_key(env, environ={"SECRET_KEY": "set"}))
            self.assertFalse(env.exists())


class DemoLoginTests(TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)
        self.path = Path(self.folder.name)

    def test_the_login_is_created_once_and_printed_the_same_each_time(self):
        first = demo.ensure_login(self.path)
        again = demo.ensure_login(self.path)
        self.assertEqual(first, again)
        user = get_user_model().objects.get(username="admin")
        self.assertTrue(user.is_superuser)
        self.assertTrue(user.check_password(first.password))
        self.assertEqual((self.path / "credentials").stat().st_mode & 0o777, 0o600)

    def test_an_existing_account_keeps_its_own_password(self):
        get_user_model().objects.create_user("admin", password="chosen-by-its-owner")
        login = demo.ensure_login(self.path)
        self.assertIsNone(login.password)
        user = get_user_model().objects.get(username="admin")
        self.assertTrue(user.check_password("chosen-by-its-owner"))

    def test_the_demo_key_is_made_once_and_kept(self):
        path, public = demo.demo_key(self.path)
        again_path, again_public = demo.demo_key(self.path)
        self.assertEqual((path, public), (again_path, again_public))
        self.assertIn("BEGIN PUBLIC KEY", public)
        self.assertEqual(path.stat().st_mode & 0o777, 0o600)


class RunDashboardCommandTests(SimpleTestCase):
    """`make run`'s last step, in a fresh process on an empty database, with no API key."""

    def test_without_a_key_it_serves_demo_data_to_the_printed_login(self):
        with tempfile.TemporaryDirectory() as folder:
            port = _free_port()
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite:///{Path(folder) / 'db.sqlite3'}",
                "SECRET_KEY": "run-dashboard-test-secret-key-0123456789-abcdefghijklmnop",
                "DEBUG": "false",
                "ASC_KEY_ID": "",
                "ASC_PRIVATE_KEY_PATH": "",
                "ASC_PRIVATE_KEY": "",
            }
            env.pop("DJANGO_SETTINGS_MODULE", None)
            server = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "run_dashboard",
                    "--port",
                    str(port),
                    "--demo-runs",
                    "12",
                    "--demo-speed",
                    "600",  # ten simulated minutes a second: a new build every few seconds
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            self.addCleanup(server.kill)
            output = _read_until(server, "Log in at ")
            self.assertIn("demo data from http://127.0.0.1:", output)
            self.assertRegex(output, r"sync succeeded: [1-9]\d* created")
            login = re.search(rf"Log in at http://127\.0\.0\.1:{port}/ as admin / (\S+)", output)
            self.assertIsNotNone(login, output)

            base = f"http://127.0.0.1:{port}"
            session = requests.Session()
            page = _get_when_up(session, f"{base}/accounts/login/")
            session.post(
                f"{base}/accounts/login/",
                data={
                    "username": "admin",
                    "password": login.group(1),
                    "csrfmiddlewaretoken": session.cookies["csrftoken"],
                },
                headers={"Referer": f"{base}/accounts/login/"},
                timeout=10,
            )
            dashboard = session.get(f"{base}/", timeout=30)
            self.assertEqual(dashboard.status_code, 200)
            self.assertIn("Demo data", dashboard.text)
            self.assertIn("chart-bytes", dashboard.text)
            # Every stylesheet and script the page names is served (hashed names included).
            assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text + dashboard.text)
            self.assertTrue(any("chart.umd" in asset for asset in assets), assets)
            for asset in set(assets):
                self.assertEqual(session.get(base + asset, timeout=10).status_code, 200, asset)
            self.assertEqual(requests.get(f"{base}/healthz", timeout=10).json()["status"], "ok")
            # Builds keep arriving: the simulator's webhook deliveries reach the sync loop.
            _read_until(server, "build run(s) fetched", timeout=120)
            server.terminate()
            server.wait(timeout=30)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _read_until(process, marker, timeout=240):
    """Lines of the process's stdout up to the one holding `marker`."""
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"exited early: {''.join(lines)}{process.stderr.read()}")
        lines.append(line)
        if marker in line:
            return "".join(lines)
    raise AssertionError(f"no {marker!r} within {timeout}s: {''.join(lines)}")


def _get_when_up(session, url, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return session.get(url, timeout=5)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
