"""Settings for the test suite: the project's settings under a test environment.

The environment is fixed before `dashboard.settings` reads it, so a developer's `.env`
(which may hold a real App Store Connect key) never reaches the tests. Tests that need the
API point it at the bundled simulator themselves.
"""

import os

os.environ.update(
    {
        "SECRET_KEY": "tests-only-secret-key-not-for-production-use-0123456789",
        "DEBUG": "false",
        "ASC_ISSUER_ID": "",
        "ASC_KEY_ID": "",
        "ASC_PRIVATE_KEY_PATH": "",
        "ASC_PRIVATE_KEY": "",
        "ASC_API_BASE_URL": "http://127.0.0.1:9",
        "ASC_DEMO_DATA": "false",
    }
)

from dashboard.settings import *  # noqa: E402,F403

# Tests render pages without running collectstatic first.
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, like the real thing: an in-memory shared-cache database locks whole tables and
    # ignores the busy timeout, which is not how two syncs meet on a deployed SQLite.
    # One file per test process, so runs side by side do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}  # noqa: F405
