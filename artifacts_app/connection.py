"""The one place where Django settings become an App Store Connect client."""

from django.conf import settings

from .asc.auth import TokenProvider
from .asc.client import AscClient
from .asc.errors import ConfigurationError


def credentials_configured() -> bool:
    """True when an API key is set up (the demo runs on the simulator otherwise)."""
    return bool(settings.ASC_KEY_ID and (settings.ASC_PRIVATE_KEY_PATH or settings.ASC_PRIVATE_KEY))


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
