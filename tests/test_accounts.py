"""`manage.py asc_account`, keys encrypted at rest, the accounts' admin and /healthz per account."""

import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from artifacts_app.accounts.service import add_account
from artifacts_app.asc.errors import ConfigurationError
from artifacts_app.connection import client_for
from artifacts_app.models import Account, CiProduct, SyncRun, default_account
from tests.simulator_fixtures import make_key_pair

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
KEY = make_key_pair()


def asc_account(*args, stdin=None, monkeypatch=None):
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    call_command("asc_account", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "AuthKey_ABC1234567.p8"
    path.write_text(KEY.private_pem)
    return path


def _body(pem):
    """The key's base64 lines: none of them may reach a page, a log or the database."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


class AccountCommandTests:
    def test_add_stores_the_key_encrypted_and_list_never_prints_it(self, key_file):
        out, _ = asc_account(
            "add", "acme", "--key-id", "ABC1234567", "--issuer-id", "iss-1",
            "--private-key-path", str(key_file), "--base-url", "https://asc.example.com",
            "--reserve-calls", "200",
        )  # fmt: skip

        assert out.strip() == "Added account acme (key ABC1234567), key encrypted."
        account = Account.objects.get(name="acme")
        assert (account.key_id, account.issuer_id) == ("ABC1234567", "iss-1")
        assert (account.base_url, account.reserve_calls) == ("https://asc.example.com", 200)
        assert "BEGIN" not in account.private_key_encrypted
        assert not any(line in account.private_key_encrypted for line in _body(KEY.private_pem))
        listed, _ = asc_account("list")
        assert listed.startswith("acme  key ABC1234567  issuer iss-1  https://asc.example.com")
        assert "superusers only  never synced" in listed
        assert "BEGIN" not in listed and account.private_key_encrypted not in listed

    def test_the_key_can_come_on_stdin(self, monkeypatch):
        asc_account(
            "add", "acme", "--key-id", "K1", "--private-key-stdin",
            stdin=KEY.private_pem, monkeypatch=monkeypatch,
        )  # fmt: skip

        assert client_for(Account.objects.get(name="acme")).tokens.key_id == "K1"

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("not a key", "the private key on stdin is not a readable .p8 private key"),
            ("", "the private key on stdin is empty"),
            (make_key_pair().public_pem, "is not a readable .p8 private key"),
        ],
    )
    def test_a_bad_key_is_one_line_and_nothing_is_stored(self, monkeypatch, text, expected):
        with pytest.raises(CommandError) as raised:
            asc_account(
                "add", "acme", "--key-id", "K1", "--private-key-stdin",
                stdin=text, monkeypatch=monkeypatch,
            )  # fmt: skip

        assert expected in str(raised.value)
        assert "\n" not in str(raised.value)
        assert not Account.objects.filter(name="acme").exists()

    def test_a_missing_key_file_and_a_bad_name_are_one_line_each(self, tmp_path, key_file):
        with pytest.raises(CommandError) as missing:
            asc_account("add", "acme", "--key-id", "K1", "--private-key-path", str(tmp_path / "x"))
        with pytest.raises(CommandError) as bad_name:
            asc_account("add", "a b", "--key-id", "K1", "--private-key-path", str(key_file))
        with pytest.raises(CommandError) as bad_url:
            asc_account(
                "add", "acme", "--key-id", "K1", "--private-key-path", str(key_file),
                "--base-url", "ftp://x",
            )  # fmt: skip

        assert str(missing.value).startswith("cannot read the private key file ")
        assert "No such file" in str(missing.value)
        assert "letters, digits, '-' and '_' only" in str(bad_name.value)
        assert "--base-url 'ftp://x' is not an http(s) URL" in str(bad_url.value)
        assert not Account.objects.exists()

    def test_adding_an_existing_account_says_to_update_it(self, key_file):
        args = ["add", "acme", "--key-id", "K1", "--private-key-path", str(key_file)]
        asc_account(*args)

        with pytest.raises(CommandError) as raised:
            asc_account(*args)

        assert "account acme exists already (key K1): change it with `asc_account update" in (
            str(raised.value)
        )

    def test_update_changes_the_key_and_refuses_a_key_id_without_its_key(self, key_file):
        asc_account("add", "acme", "--key-id", "K1", "--private-key-path", str(key_file))

        with pytest.raises(CommandError) as raised:
            asc_account("update", "acme", "--key-id", "K2")
        asc_account("update", "acme", "--key-id", "K2", "--private-key-path", str(key_file))

        assert "comes with its key" in str(raised.value)
        assert Account.objects.get(name="acme").key_id == "K2"

    def test_grant_and_revoke_a_user(self, key_file, django_user_model):
        django_user_model.objects.create_user("ana")
        asc_account("add", "acme", "--key-id", "K1", "--private-key-path", str(key_file))

        granted, _ = asc_account("grant", "acme", "ana")
        listed, _ = asc_account("list")
        revoked, _ = asc_account("revoke", "acme", "ana")
        again, _ = asc_account("revoke", "acme", "ana")

        assert granted.strip() == "ana may now see account acme."
        assert "granted to ana" in listed
        assert revoked.strip() == "ana no longer has a grant on account acme."
        assert again.strip() == "ana had no grant of their own on account acme."
        assert not Account.objects.get(name="acme").users.exists()

    def test_unknown_user_and_account_are_one_line(self, key_file):
        asc_account("add", "acme", "--key-id", "K1", "--private-key-path", str(key_file))

        with pytest.raises(CommandError) as no_user:
            asc_account("grant", "acme", "nobody")
        with pytest.raises(CommandError) as no_account:
            asc_account("grant", "nope", "nobody")

        assert str(no_user.value).startswith("no user 'nobody'; create one with")
        assert str(no_account.value) == "no account named 'nope'; known accounts: acme"

    def test_remove_refuses_an_account_with_data_unless_told_to_delete_it(self, key_file):
        asc_account("add", "acme", "--key-id", "K1", "--private-key-path", str(key_file))
        account = Account.objects.get(name="acme")
        CiProduct.objects.create(account=account, asc_id="P1", name="App")
        SyncRun.objects.create(account=account, status=SyncRun.Status.SUCCEEDED)

        with pytest.raises(CommandError) as raised:
            asc_account("remove", "acme")
        assert str(raised.value) == (
            "account acme still has data (1 products, 1 sync runs): add --delete-data to "
            "delete it too"
        )
        assert Account.objects.filter(name="acme").exists()

        out, _ = asc_account("remove", "acme", "--delete-data")

        assert out.strip() == "Removed account acme and its 2 rows."
        assert not Account.objects.filter(name="acme").exists()
        assert not CiProduct.objects.exists()

    def test_webhook_token_is_printed_once_and_only_its_hash_is_kept(self, key_file):
        asc_account("add", "acme", "--key-id", "K1", "--private-key-path", str(key_file))

        token, note = asc_account("webhook-token", "acme")

        token = token.strip()
        assert len(token) >= 40
        assert "shown only this once" in note
        stored = Account.objects.get(name="acme").webhook_token_hash
        assert stored and token not in stored


class EncryptionKeyTests:
    @pytest.mark.parametrize(
        ("stored_with", "read_with"),
        [
            ("", "l0Ly3nfHPpB0dRw9mX8c7Qk2oDqvCz1y8y3Zr9w8T5E="),  # wrong
            ("l0Ly3nfHPpB0dRw9mX8c7Qk2oDqvCz1y8y3Zr9w8T5E=", ""),  # missing
        ],
    )
    def test_a_wrong_or_missing_field_encryption_key_is_one_line_naming_it(
        self, settings, stored_with, read_with
    ):
        settings.FIELD_ENCRYPTION_KEY = stored_with
        add_account("acme", key_id="K1", pem=KEY.private_pem)
        settings.FIELD_ENCRYPTION_KEY = read_with

        with pytest.raises(CommandError) as raised:
            call_command("sync_artifacts", "--account", "acme", stdout=io.StringIO())

        message = str(raised.value)
        assert "\n" not in message
        assert "account acme's private key cannot be decrypted: FIELD_ENCRYPTION_KEY" in message
        assert SyncRun.objects.get().status == SyncRun.Status.FAILED

    def test_a_malformed_field_encryption_key_is_one_line_not_a_traceback(
        self, settings, monkeypatch
    ):
        settings.FIELD_ENCRYPTION_KEY = "not-a-fernet-key"

        with pytest.raises(CommandError) as raised:
            asc_account(
                "add", "acme", "--key-id", "K1", "--private-key-stdin",
                stdin=KEY.private_pem, monkeypatch=monkeypatch,
            )  # fmt: skip

        assert str(raised.value).startswith("FIELD_ENCRYPTION_KEY is not a list of Fernet keys")
        assert not Account.objects.exists()

    def test_no_key_is_stored_under_the_public_development_secret(self, settings, monkeypatch):
        settings.FIELD_ENCRYPTION_KEY = ""
        settings.SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"

        with pytest.raises(CommandError) as raised:
            asc_account(
                "add", "acme", "--key-id", "K1", "--private-key-stdin",
                stdin=KEY.private_pem, monkeypatch=monkeypatch,
            )  # fmt: skip

        assert "set FIELD_ENCRYPTION_KEY" in str(raised.value)

    def test_a_rotated_key_list_still_opens_what_the_old_key_stored(self, settings):
        old = "l0Ly3nfHPpB0dRw9mX8c7Qk2oDqvCz1y8y3Zr9w8T5E="
        settings.FIELD_ENCRYPTION_KEY = old
        add_account("acme", key_id="K1", pem=KEY.private_pem)
        settings.FIELD_ENCRYPTION_KEY = "uTl2ZQ0kq3n2nN5c3aJfZbRkz0y3hQpVY6bQ9QfJm1A=," + old

        assert client_for(Account.objects.get(name="acme")).tokens.key_id == "K1"

    def test_an_account_without_a_key_says_how_to_store_one(self):
        account = Account.objects.create(name="acme")

        with pytest.raises(ConfigurationError) as raised:
            client_for(account)

        assert "account acme has no API key: store one with `manage.py asc_account update" in (
            str(raised.value)
        )

    def test_the_database_file_holds_no_pem_line(self, tmp_path, key_file):
        database = tmp_path / "db.sqlite3"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": f"sqlite:///{database}",
            "PYTHONPATH": str(ROOT),
        }
        for args in (
            ["migrate", "--verbosity", "0"],
            ["asc_account", "add", "acme", "--key-id", "K1", "--private-key-path", str(key_file)],
            ["asc_account", "list"],
        ):
            done = subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            assert "BEGIN" not in done.stdout + done.stderr

        stored = database.read_bytes()
        assert b"acme" in stored and b"K1" in stored
        assert b"-----BEGIN" not in stored
        assert not any(line.encode() in stored for line in _body(KEY.private_pem))


class AccountAdminTests:
    def test_the_p8_is_uploaded_and_never_shown_again(self, admin_client):
        group = Group.objects.create(name="mobile")
        upload = SimpleUploadedFile("AuthKey_K1.p8", KEY.private_pem.encode())

        answer = admin_client.post(
            "/admin/artifacts_app/account/add/",
            {
                "name": "acme",
                "key_id": "K1",
                "issuer_id": "",
                "base_url": "",
                "reserve_calls": "",
                "groups": [group.pk],
                "private_key_file": upload,
            },
        )

        assert answer.status_code == 302, answer.content.decode()[:2000]
        account = Account.objects.get(name="acme")
        assert account.has_stored_key and list(account.groups.all()) == [group]
        page = admin_client.get(f"/admin/artifacts_app/account/{account.pk}/change/")
        text = page.content.decode()
        assert "key stored (key ID K1)" in text
        assert "BEGIN" not in text and account.private_key_encrypted not in text
        assert not any(line in text for line in _body(KEY.private_pem))

    def test_grants_change_without_the_key_and_a_new_key_id_needs_its_file(
        self, admin_client, django_user_model
    ):
        account = add_account("acme", key_id="K1", pem=KEY.private_pem)
        stored = account.private_key_encrypted
        ana = django_user_model.objects.create_user("ana")
        page = f"/admin/artifacts_app/account/{account.pk}/change/"
        form = {"key_id": "K1", "issuer_id": "", "base_url": "", "reserve_calls": ""}

        refused = admin_client.post(page, {**form, "key_id": "K2"})
        granted = admin_client.post(page, {**form, "users": [ana.pk]})

        assert "comes with its key: upload the .p8 file too" in refused.content.decode()
        assert granted.status_code == 302
        account.refresh_from_db()
        assert (account.key_id, account.private_key_encrypted) == ("K1", stored)
        assert list(account.users.all()) == [ana]

    def test_a_bad_upload_is_one_message_and_stores_nothing(self, admin_client):
        upload = SimpleUploadedFile("AuthKey_K1.p8", b"nope")

        answer = admin_client.post(
            "/admin/artifacts_app/account/add/",
            {"name": "acme", "key_id": "K1", "private_key_file": upload},
        )

        assert answer.status_code == 200
        assert "the uploaded file is not a readable .p8 private key" in answer.content.decode()
        assert not Account.objects.filter(name="acme").exists()

    def test_a_staff_user_lists_only_the_accounts_granted_to_them(self, client, django_user_model):
        from django.contrib.auth.models import Permission

        staff = django_user_model.objects.create_user("sam", is_staff=True)
        staff.user_permissions.add(Permission.objects.get(codename="view_account"))
        Account.objects.create(name="secret-team").users.add(
            django_user_model.objects.create_user("other")
        )
        Account.objects.create(name="ours").users.add(staff)
        client.force_login(staff)

        text = client.get("/admin/artifacts_app/account/").content.decode()

        assert "ours" in text
        assert "secret-team" not in text


def _pass(account, status, minutes_ago=1, error=""):
    run = SyncRun.objects.create(account=account, status=status, error=error)
    finished = timezone.now() - timedelta(minutes=minutes_ago)
    SyncRun.objects.filter(pk=run.pk).update(started_at=finished, finished_at=finished)


class HealthPerAccountTests:
    def test_a_failing_account_is_named_only_to_users_granted_it(self, client, django_user_model):
        ok, failing = default_account(), Account.objects.create(name="beta-team")
        _pass(ok, SyncRun.Status.SUCCEEDED)
        _pass(failing, SyncRun.Status.FAILED, error="401 NOT_AUTHORIZED")

        public = client.get("/healthz").json()
        assert public["status"] == "failing"
        assert public["accounts"] == {"ok": 1, "stale": 0, "failing": 1}
        assert "beta-team" not in str(public) and "by_account" not in public

        viewer = django_user_model.objects.create_user("viewer")
        failing.users.add(viewer)
        client.force_login(viewer)
        mine = client.get("/healthz").json()
        assert mine["by_account"] == [
            {
                "name": "beta-team",
                "status": "failing",
                "last_sync": mine["by_account"][0]["last_sync"],
                "last_success": None,
            }
        ]
        assert mine["by_account"][0]["last_sync"]["error"] == "401 NOT_AUTHORIZED"

    def test_every_account_ok_is_ok(self):
        from artifacts_app.health import sync_health

        _pass(default_account(), SyncRun.Status.SUCCEEDED)
        _pass(Account.objects.create(name="beta-team"), SyncRun.Status.SUCCEEDED)

        assert sync_health()["status"] == "ok"
