"""The one place where Django settings and stored accounts become an App Store Connect client.

The account `default` uses the `ASC_*` settings when a key is set there, so a one-team
install configured through the environment works as before; every other account (and
`default` without those settings) uses the key stored with it (`asc_account add`).
"""

from django.conf import settings

from .asc.auth import TokenProvider
from .asc.client import AscClient
from .asc.errors import ConfigurationError
from .encryption import DecryptionError, decrypt_text
from .models import DEFAULT_ACCOUNT, Account


def credentials_configured() -> bool:
    """True when an API key is set up (the demo runs on the simulator otherwise)."""
    return bool(settings.ASC_KEY_ID and (settings.ASC_PRIVATE_KEY_PATH or settings.ASC_PRIVATE_KEY))


def any_key_configured() -> bool:
    """True when the `ASC_*` settings or a stored account hold a key (no demo then)."""
    return credentials_configured() or Account.objects.exclude(private_key_encrypted="").exists()


def uses_settings(account: Account) -> bool:
    """Whether `account` takes its key from the `ASC_*` settings."""
    return account.name == DEFAULT_ACCOUNT and credentials_configured()


def has_key(account: Account) -> bool:
    """Whether `account` has a key to sync with (stored, or `ASC_*` for `default`)."""
    return uses_settings(account) or account.has_stored_key


def key_identity(client: AscClient) -> str:
    """The key a client signs with, as "issuer:key id" (no secret): what binds rows to a team."""
    return f"{client.tokens.issuer_id or ''}:{client.tokens.key_id}"


def client_for(account: Account, **options) -> AscClient:
    """An `AscClient` for the account's key, base URL and nothing else.

    Raises `ConfigurationError`, one line naming the account (or the setting) at fault,
    when the key is missing, cannot be decrypted or is malformed.
    """
    if uses_settings(account) or (account.name == DEFAULT_ACCOUNT and not account.has_stored_key):
        return client_from_settings(**options)
    if not account.has_stored_key:
        raise ConfigurationError(
            f"account {account.name} has no API key: store one with `manage.py asc_account "
            f"update {account.name} --key-id KEY --private-key-path AuthKey_KEY.p8`"
        )
    what = f"account {account.name}'s private key"
    try:
        pem = decrypt_text(account.private_key_encrypted, what)
    except DecryptionError as exc:
        raise ConfigurationError(str(exc)) from None
    tokens = TokenProvider(account.key_id, pem, account.issuer_id or None, key_setting=what)
    return AscClient(account.base_url or settings.ASC_API_BASE_URL, tokens, **options)


def client_from_settings(**options) -> AscClient:
    """An `AscClient` for the configured key and base URL.

    Raises `ConfigurationError` naming the setting at fault when the key is missing,
    unreadable or malformed.
    """
    if not settings.ASC_KEY_ID:
        raise ConfigurationError(
            "ASC_KEY_ID is not set: copy the Key ID shown next to the key in App Store Connect "
            "(Users and Access > Integrations > App Store Connect API), in .env or the environment"
        )
    tokens = TokenProvider.from_settings_values(
        key_id=settings.ASC_KEY_ID,
        issuer_id=settings.ASC_ISSUER_ID,
        private_key_path=settings.ASC_PRIVATE_KEY_PATH,
        private_key=settings.ASC_PRIVATE_KEY,
    )
    return AscClient(settings.ASC_API_BASE_URL, tokens, **options)
