"""Production serving: gunicorn with the shipped config, static files through WhiteNoise."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from .s3_server import free_port, wait_until_answering

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a-long-serving-test-password"


def manage(env, *args):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    """The built project (migrated, collectstatic) served by gunicorn with DEBUG off."""
    tmp_path = tmp_path_factory.mktemp("served")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")} | {
        "DEBUG": "false",
        "SECRET_KEY": "serving-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "ARCHIVE_ROOT": str(tmp_path / "archive"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
    }
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    manage(env, "createsuperuser", "--noinput", "--username", "ops", "--email", "ops@example.com")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "dashboard.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/healthz", server, "gunicorn")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


class GunicornServingTests:
    def test_serves_the_dashboard_and_its_static_files(self, gunicorn):
        session = requests.Session()
        login = session.get(f"{gunicorn}/accounts/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        session.post(
            f"{gunicorn}/accounts/login/",
            data={"username": "ops", "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{gunicorn}/accounts/login/"},
            timeout=10,
        )

        page = session.get(f"{gunicorn}/", timeout=30)

        assert page.status_code == 200 and "Build artifacts" in page.text
        # collectstatic's hashed names, served by WhiteNoise with a far-future cache.
        stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page.text).group(1)
        chart_js = re.search(
            r'src="(/static/vendor/chart\.js/chart\.umd\.[0-9a-f]{12}\.js)"', page.text
        )
        for path in (stylesheet, chart_js.group(1)):
            static = requests.get(f"{gunicorn}{path}", timeout=10)
            assert static.status_code == 200 and len(static.content) > 1000
            assert "max-age=315360000" in static.headers["Cache-Control"]
        assert ".site-header" in requests.get(f"{gunicorn}{stylesheet}", timeout=10).text

    def test_anonymous_visitors_get_the_login_and_healthz_only(self, gunicorn):
        dashboard = requests.get(f"{gunicorn}/", allow_redirects=False, timeout=10)
        health = requests.get(f"{gunicorn}/healthz", timeout=10)

        assert dashboard.status_code == 302 and "/accounts/login/" in dashboard.headers["Location"]
        assert health.status_code == 200 and health.json()["status"] == "stale"
