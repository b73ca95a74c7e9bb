"""App Store Connect accounts: python manage.py asc_account add|update|list|remove|grant|revoke|
webhook-token (thin wiring over artifacts_app.accounts)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from artifacts_app.accounts.data import delete_with_data, owned_counts
from artifacts_app.accounts.keys import BadKey, read_key_file
from artifacts_app.accounts.service import (
    AccountError,
    account_named,
    add_account,
    grant,
    revoke,
    update_account,
)
from artifacts_app.accounts.webhook_tokens import new_token
from artifacts_app.connection import credentials_configured, uses_settings
from artifacts_app.management.arguments import count
from artifacts_app.models import Account, SyncRun, default_account


class Command(BaseCommand):
    help = (
        "App Store Connect accounts, one team's API key each: add, update, list, remove, grant "
        "or revoke a user's access, and make an account's webhook token. Private keys are "
        "stored encrypted (FIELD_ENCRYPTION_KEY) and never printed."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = actions.add_parser("add", help="add an account with its API key")
        add.add_argument("name", help="a short name: letters, digits, '-' and '_'")
        self._key_options(add, required=True)
        update = actions.add_parser("update", help="change an account's key, URL or reserve")
        update.add_argument("name")
        self._key_options(update, required=False)
        actions.add_parser("list", help="list accounts (never their keys)")
        remove = actions.add_parser("remove", help="delete an account")
        remove.add_argument("name")
        remove.add_argument(
            "--delete-data",
            action="store_true",
            help="also delete everything mirrored under it (refused without, while it has data)",
        )
        for verb, text in (("grant", "let a user see"), ("revoke", "stop a user seeing")):
            granting = actions.add_parser(verb, help=f"{text} an account's data")
            granting.add_argument("name")
            granting.add_argument("username")
        token = actions.add_parser(
            "webhook-token", help="make the account's webhook token and print it once"
        )
        token.add_argument("name")

    def _key_options(self, parser, required):
        parser.add_argument("--key-id", required=required, metavar="KEY", help="the key's id")
        parser.add_argument(
            "--issuer-id", default=None, metavar="ID", help="a team key's issuer id"
        )
        source = parser.add_mutually_exclusive_group(required=required)
        source.add_argument("--private-key-path", metavar="P", help="the AuthKey_KEY.p8 file")
        source.add_argument(
            "--private-key-stdin", action="store_true", help="read the key's PEM text from stdin"
        )
        parser.add_argument("--base-url", default=None, metavar="URL", help="the API's base URL")
        parser.add_argument(
            "--reserve-calls",
            type=count,
            default=None,
            metavar="N",
            help="calls per hour left for other tools (default SYNC_RESERVE_CALLS)",
        )

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"handle_{action.replace('-', '_')}")(**options)
        except (AccountError, BadKey) as exc:
            raise CommandError(str(exc)) from None

    def handle_add(self, name, **options):
        pem, source = self._pem(options)
        account = add_account(
            name,
            key_id=options["key_id"],
            issuer_id=options["issuer_id"] or "",
            pem=pem,
            base_url=options["base_url"] or "",
            reserve_calls=options["reserve_calls"],
            source=source,
        )
        self.stdout.write(f"Added account {account.name} (key {account.key_id}), key encrypted.")
        if uses_settings(account):
            self.stderr.write(
                "The ASC_* settings are set: they stay the key of `default` until removed."
            )

    def handle_update(self, name, **options):
        account = account_named(name)
        pem, source = self._pem(options) if self._has_key(options) else (None, "")
        update_account(
            account,
            key_id=options["key_id"],
            issuer_id=options["issuer_id"],
            pem=pem,
            base_url=options["base_url"],
            reserve_calls=options["reserve_calls"],
            source=source,
        )
        self.stdout.write(f"Updated account {account.name} (key {account.key_id or 'none'}).")

    def handle_list(self, **options):
        if credentials_configured():
            default_account()  # the ASC_* key's account, listed before it ever synced
        accounts = list(Account.objects.prefetch_related("users", "groups"))
        for account in accounts:
            if uses_settings(account):
                key = "key from ASC_* settings"
            elif account.has_stored_key:
                key = f"key {account.key_id}"
            else:
                key = "no key"
            issuer = f"issuer {account.issuer_id}" if account.issuer_id else "individual key"
            grants = [u.username for u in account.users.all()]
            grants += [f"group {g.name}" for g in account.groups.all()]
            self.stdout.write(
                f"{account.name}  {key}  {issuer if account.has_stored_key else '-'}  "
                f"{account.base_url or 'ASC_API_BASE_URL'}  "
                f"granted to {', '.join(grants) or 'superusers only'}  {_last_sync(account)}"
            )
        self.stderr.write(f"{len(accounts)} account(s).")

    def handle_remove(self, name, delete_data, **options):
        account = account_named(name)
        counts = owned_counts(account)
        if counts and not delete_data:
            shown = ", ".join(f"{count} {what}" for what, count in counts.items())
            raise CommandError(
                f"account {name} still has data ({shown}): add --delete-data to delete it too"
            )
        files = delete_with_data(account)
        line = f"Removed account {name}"
        if counts:
            line += f" and its {sum(counts.values())} rows"
        if files:
            line += f"; its {files} archived files stay in archive storage"
        self.stdout.write(line + ".")

    def handle_grant(self, name, username, **options):
        changed = grant(account_named(name), username)
        self.stdout.write(
            f"{username} may now see account {name}."
            if changed
            else f"{username} could already see account {name}."
        )

    def handle_revoke(self, name, username, **options):
        changed = revoke(account_named(name), username)
        self.stdout.write(
            f"{username} no longer has a grant on account {name}."
            if changed
            else f"{username} had no grant of their own on account {name}."
        )

    def handle_webhook_token(self, name, **options):
        account = account_named(name)
        token = new_token(account)
        self.stdout.write(token)
        self.stderr.write(
            f"Webhook token of account {name}, shown only this once; its URL is "
            "<SITE_URL>/hooks/xcode-cloud/<token>. The previous token stopped working."
        )

    def _has_key(self, options):
        return bool(options["private_key_path"] or options["private_key_stdin"])

    def _pem(self, options):
        if options["private_key_stdin"]:
            return sys.stdin.read(), "the private key on stdin"
        path = options["private_key_path"]
        return read_key_file(path), path


def _last_sync(account):
    run = SyncRun.objects.filter(account=account, dry_run=False).first()
    if run is None:
        return "never synced"
    return f"last sync {run.started_at:%Y-%m-%d %H:%M} UTC {run.status}"
