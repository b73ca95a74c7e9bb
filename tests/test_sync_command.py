"""`manage.py sync_artifacts` as cron, systemd and a person at a terminal use it."""

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from artifacts_app.models import CiBuildRun, SyncRun
from artifacts_app.sync import run as sync_module
from tests.simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID, make_key_pair
from tests.sync_helpers import upstream_artifacts

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def _key_settings(simulator, private_pem):
    return override_settings(
        ASC_API_BASE_URL=simulator.base_url,
        ASC_KEY_ID=SIM_KEY_ID,
        ASC_ISSUER_ID=SIM_ISSUER_ID,
        ASC_PRIVATE_KEY=private_pem,
        ASC_PRIVATE_KEY_PATH="",
    )


class SyncCommandTests:
    def test_a_pass_prints_quiet_lines_and_a_summary_when_not_on_a_terminal(
        self, simulator, asc_key
    ):
        out = io.StringIO()
        with _key_settings(simulator, asc_key.private_pem):
            call_command("sync_artifacts", "--reserve", "0", stdout=out)

        lines = out.getvalue().splitlines()
        assert lines[-1].startswith("sync succeeded: ")
        assert "API calls" in lines[-1]
        assert not any("\r" in line for line in lines)
        assert SyncRun.objects.get().status == SyncRun.Status.SUCCEEDED

    def test_a_pass_on_a_terminal_draws_a_progress_line_then_the_summary(self, simulator, asc_key):
        class Terminal(io.StringIO):
            def isatty(self):
                return True

        out = Terminal()
        with _key_settings(simulator, asc_key.private_pem):
            call_command("sync_artifacts", "--reserve", "0", stdout=out)

        text = out.getvalue()
        assert "\r" in text and "runs fetched" in text
        assert text.rstrip("\n").rsplit("\r", 1)[-1].startswith("sync succeeded: ")

    def test_product_option_syncs_only_that_product(self, simulator, asc_key):
        wanted = simulator.dataset.products[1]
        with _key_settings(simulator, asc_key.private_pem):
            call_command(
                "sync_artifacts", "--product", wanted.id, "--reserve", "0", stdout=io.StringIO()
            )

        assert set(CiBuildRun.objects.values_list("product__asc_id", flat=True)) == {wanted.id}

    def test_an_unknown_product_is_one_clear_line(self, simulator, asc_key):
        with _key_settings(simulator, asc_key.private_pem), pytest.raises(CommandError) as raised:
            call_command("sync_artifacts", "--product", "nope", stdout=io.StringIO())

        assert "product nope does not exist upstream" in str(raised.value)

    def test_a_wrong_key_fails_with_one_line_naming_the_settings_to_check(self, simulator):
        with (
            _key_settings(simulator, make_key_pair().private_pem),
            pytest.raises(CommandError) as raised,
        ):
            call_command("sync_artifacts", stdout=io.StringIO())

        message = str(raised.value)
        assert "\n" not in message
        assert "401" in message and "ASC_KEY_ID" in message
        assert SyncRun.objects.get().status == SyncRun.Status.FAILED

    def test_a_missing_key_fails_before_any_call(self, simulator):
        with (
            override_settings(ASC_KEY_ID="", ASC_API_BASE_URL=simulator.base_url),
            pytest.raises(CommandError) as raised,
        ):
            call_command("sync_artifacts", stdout=io.StringIO())

        assert "ASC_KEY_ID" in str(raised.value)
        assert simulator.stats.api_requests == 0

    def test_an_unreachable_host_fails_with_one_line(self, asc_key, monkeypatch):
        real = sync_module.client_for
        # Retries back off for seconds; here they do not wait.
        monkeypatch.setattr(
            sync_module, "client_for", lambda account: real(account, sleep=lambda _seconds: None)
        )
        with (
            override_settings(
                ASC_API_BASE_URL="http://127.0.0.1:9",
                ASC_KEY_ID=SIM_KEY_ID,
                ASC_ISSUER_ID=SIM_ISSUER_ID,
                ASC_PRIVATE_KEY=asc_key.private_pem,
            ),
            pytest.raises(CommandError) as raised,
        ):
            call_command("sync_artifacts", stdout=io.StringIO())

        message = str(raised.value)
        assert "\n" not in message
        assert "cannot reach 127.0.0.1:9" in message


# --- as a separate process ------------------------------------------------------------


@pytest.fixture
def project(tmp_path, simulator, asc_key):
    """Settings for a `manage.py` process: the simulator's key and a SQLite file database."""
    database = tmp_path / "db.sqlite3"
    (tmp_path / "sync_process_settings.py").write_text(
        "from tests.settings import *  # noqa\n"
        f"ASC_API_BASE_URL = {simulator.base_url!r}\n"
        f"ASC_KEY_ID = {SIM_KEY_ID!r}\n"
        f"ASC_ISSUER_ID = {SIM_ISSUER_ID!r}\n"
        f"ASC_PRIVATE_KEY = {asc_key.private_pem!r}\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', "
        f"'NAME': {str(database)!r}}}}}\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "sync_process_settings",
    }
    env.pop("DATABASE_URL", None)
    _manage(env, "migrate", "--verbosity", "0").check_returncode()
    return env, database


def _manage(env, *args, **options):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **options,
    )


def _popen(env, *args):
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _count(database, table):
    with sqlite3.connect(database) as db:
        try:
            return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
        except sqlite3.OperationalError:
            return 0  # locked by the writer for a moment


def _stored_artifacts(database):
    query = """
        SELECT a.asc_id, a.file_name, a.file_type, a.file_size, act.asc_id, r.asc_id,
               w.asc_id, p.asc_id
        FROM artifacts_app_ciartifact a
        JOIN artifacts_app_cibuildaction act ON act.id = a.build_action_id
        JOIN artifacts_app_cibuildrun r ON r.id = a.build_run_id
        LEFT JOIN artifacts_app_ciworkflow w ON w.id = a.workflow_id
        JOIN artifacts_app_ciproduct p ON p.id = a.product_id
        WHERE a.gone_upstream_at IS NULL
    """
    with sqlite3.connect(database) as db:
        return db.execute(query).fetchall()


class SyncProcessTests:
    @pytest.mark.parametrize("concurrency", ["1", "4"])
    def test_a_pass_killed_mid_way_and_run_again_converges(self, project, simulator, concurrency):
        env, database = project
        simulator.faults.latency = 0.01  # slow enough to be killed mid-way
        process = _popen(env, "sync_artifacts", "--reserve", "0", "--concurrency", concurrency)
        deadline = time.monotonic() + 60
        while _count(database, "artifacts_app_cibuildrun") < 8:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_at = _count(database, "artifacts_app_cibuildrun")
        simulator.faults.latency = 0

        again = _manage(env, "sync_artifacts", "--reserve", "0")

        assert again.returncode == 0, again.stderr
        assert killed_at < len(simulator.dataset.runs)
        stored = _stored_artifacts(database)
        assert len(stored) == len(set(stored))  # no duplicates
        expected = {row[:8] for row in upstream_artifacts(simulator.dataset)}
        assert set(stored) == expected
        with sqlite3.connect(database) as db:
            passes = db.execute(
                "SELECT status, error FROM artifacts_app_syncrun ORDER BY started_at"
            ).fetchall()
        assert [status for status, _error in passes] == ["failed", "succeeded"]
        assert "ended before the pass finished" in passes[0][1]

    def test_a_wrong_key_exits_non_zero_with_one_line_and_no_traceback(self, project, simulator):
        env, _database = project
        simulator.config.public_key = make_key_pair().public_pem  # not the key we sign with

        result = _manage(env, "sync_artifacts")

        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "401" in lines[0] and "Traceback" not in result.stderr

    def test_loop_ends_cleanly_on_sigterm(self, project):
        env, _database = project
        process = _popen(env, "sync_artifacts", "--loop", "--interval", "60", "--reserve", "0")
        first_line = ""
        deadline = time.monotonic() + 60
        while "sync succeeded" not in first_line:
            first_line = process.stdout.readline()
            assert first_line or process.poll() is None
            assert time.monotonic() < deadline

        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)

        assert process.returncode == 0, err
        assert "sync loop stopped" in out

    def test_a_second_ctrl_c_stops_at_once_with_one_line_and_no_traceback(self, project, simulator):
        env, database = project
        simulator.faults.latency = 0.05  # a pass long enough to be interrupted twice
        process = _popen(env, "sync_artifacts", "--reserve", "0")
        deadline = time.monotonic() + 60
        while _count(database, "artifacts_app_cibuildrun") < 2:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)

        # Hold the next request, so the pass is still in a build run when the signals come.
        requests_before = simulator.stats.api_requests
        simulator.faults.latency = 30
        while simulator.stats.api_requests == requests_before:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)

        process.send_signal(signal.SIGINT)  # finish the run in hand...
        while "interrupt again" not in process.stdout.readline():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
        process.send_signal(signal.SIGINT)  # ...no: stop now
        _out, err = process.communicate(timeout=30)

        assert process.returncode != 0
        assert err.strip().splitlines() == [
            "CommandError: sync interrupted; the next pass continues"
        ]
