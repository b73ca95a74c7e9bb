"""Production safety of the settings, checked in fresh processes with a clean environment."""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.test import SimpleTestCase

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET_KEY"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


class ProductionSettingsTests(SimpleTestCase):
    def test_production_refuses_to_start_without_secret_key(self):
        result = manage("check", DEBUG="false", SECRET_KEY="")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("SECRET_KEY is not set", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_deploy_check_is_clean_with_production_settings(self):
        result = manage(
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
            DEBUG="false",
            SECRET_KEY="x7#kq2!vR9pL0mZ4tY8wB1nC6hJ3fD5sG0aQ2eT9uI7oP4lK8jH6gF3dS1aZ0xC",
            ALLOWED_HOSTS="artifacts.example.com",
            SECURE_SSL_REDIRECT="true",
            SESSION_COOKIE_SECURE="true",
            CSRF_COOKIE_SECURE="true",
            SECURE_HSTS_SECONDS="31536000",
            SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
            SECURE_HSTS_PRELOAD="true",
        )
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_deploy_check_is_clean_with_every_flag_of_the_example_env(self):
        settings = {}
        for line in (ROOT / ".env.example").read_text().splitlines():
            match = re.match(r"#?\s*([A-Z][A-Z0-9_]*)=(\S*)", line)
            if match and match[1] != "DATABASE_URL":
                settings[match[1]] = match[2]
        settings["SECRET_KEY"] = "x7#kq2!vR9pL0mZ4tY8wB1nC6hJ3fD5sG0aQ2eT9uI7oP4lK8jH6gF3dS1aZ0xC"

        result = manage("check", "--deploy", "--fail-level", "WARNING", **settings)

        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(settings["SECURE_HSTS_SECONDS"], "31536000")

    def test_migrations_match_the_models(self):
        result = manage("makemigrations", "--check", "--dry-run", DEBUG="true")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
