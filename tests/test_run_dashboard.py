import os
import subprocess
import sys
import tempfile
from pathlib import Path

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

    def test_without_a_key_it_syncs_demo_data_and_prints_the_login(self):
        with tempfile.TemporaryDirectory() as folder:
            database = f"sqlite:///{Path(folder) / 'db.sqlite3'}"
            env = {
                **os.environ,
                "DATABASE_URL": database,
                "SECRET_KEY": "run-dashboard-test-secret-key-0123456789-abcdefghijklmnop",
                "DEBUG": "false",
                "ASC_KEY_ID": "",
                "ASC_PRIVATE_KEY_PATH": "",
                "ASC_PRIVATE_KEY": "",
            }
            env.pop("DJANGO_SETTINGS_MODULE", None)
            result = subprocess.run(
                [sys.executable, "manage.py", "run_dashboard", "--no-serve", "--demo-runs", "12"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("demo data from http://127.0.0.1:", result.stdout)
            self.assertRegex(result.stdout, r"sync succeeded: [1-9]\d* created")
            self.assertRegex(
                result.stdout, r"Log in at http://127\.0\.0\.1:8000/ as admin (/ \S+|with)"
            )
            self.assertNotIn("Traceback", result.stderr)

            check = subprocess.run(
                [
                    sys.executable,
                    "manage.py",
                    "shell",
                    "-c",
                    "from artifacts_app.models import CiArtifact, SyncRun;"
                    "print(CiArtifact.objects.count(), SyncRun.objects.get().status)",
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            count, status = check.stdout.splitlines()[-1].split()
            self.assertGreater(int(count), 12)
            self.assertEqual(status, "succeeded")
