import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model
from django.test import TestCase

from artifacts_app import demo
from artifacts_app.bootstrap import ensure_secret_key


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
