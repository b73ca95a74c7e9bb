"""JWT signing for the App Store Connect API, with reuse until shortly before expiry."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .errors import ConfigurationError

AUDIENCE = "appstoreconnect-v1"
MAX_LIFETIME = 20 * 60  # Apple rejects longer tokens unless they are scoped to GET requests.
CLOCK_SKEW = 60  # iat is back-dated by this much, so a clock running ahead still works.
RENEW_MARGIN = 60  # a cached token is replaced this long before it expires.


class TokenProvider:
    """Signs ES256 tokens with an API key and hands out the same one until it nears expiry.

    A team key carries ``iss`` (the issuer id); an individual key, chosen when the
    issuer id is empty, carries ``sub: "user"`` instead.
    """

    def __init__(
        self,
        key_id: str,
        private_key_pem: str,
        issuer_id: str | None = None,
        lifetime: timedelta | float = timedelta(minutes=15),
        clock: Callable[[], float] = time.time,
        scope: Sequence[str] | None = None,
        *,
        key_setting: str = "ASC_PRIVATE_KEY",
    ):
        if not key_id:
            raise ConfigurationError("ASC_KEY_ID is not set: copy the key id shown next to the key")
        seconds = lifetime.total_seconds() if isinstance(lifetime, timedelta) else float(lifetime)
        get_only = bool(scope) and all(str(s).startswith("GET ") for s in scope)
        if seconds <= RENEW_MARGIN or (seconds > MAX_LIFETIME and not get_only):
            raise ConfigurationError(
                f"token lifetime {seconds:.0f}s is not allowed: use more than {RENEW_MARGIN}s "
                f"and at most {MAX_LIFETIME}s (longer only with a GET-only scope)"
            )
        self.key_id = key_id
        self.issuer_id = issuer_id or None
        self.lifetime = seconds
        self.scope = list(scope) if scope else None
        self._clock = clock
        self._key = load_private_key(private_key_pem, key_setting)
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.issued = 0  # how many tokens were signed: reuse keeps this low

    @classmethod
    def from_settings_values(
        cls,
        key_id: str | None,
        issuer_id: str | None,
        private_key_path: str | None,
        private_key: str | None,
        **kwargs,
    ) -> TokenProvider:
        """Build a provider from the ASC_* settings, naming the setting at fault on error."""
        if not key_id:
            raise ConfigurationError("ASC_KEY_ID is not set: copy the key id shown next to the key")
        if private_key:
            pem, setting = private_key.replace("\\n", "\n"), "ASC_PRIVATE_KEY"
        elif private_key_path:
            setting = "ASC_PRIVATE_KEY_PATH"
            try:
                pem = Path(private_key_path).expanduser().read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or type(exc).__name__
                raise ConfigurationError(
                    f"ASC_PRIVATE_KEY_PATH: cannot read {private_key_path}: {reason}"
                ) from None
        else:
            raise ConfigurationError(
                "no API key: set ASC_PRIVATE_KEY_PATH to the .p8 file "
                "(or ASC_PRIVATE_KEY to its text)"
            )
        return cls(key_id, pem, issuer_id or None, key_setting=setting, **kwargs)

    @property
    def is_individual_key(self) -> bool:
        return self.issuer_id is None

    def token(self) -> str:
        """A valid token, reused until ``RENEW_MARGIN`` seconds before it expires."""
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._expires_at - RENEW_MARGIN:
                self._token, self._expires_at = self._sign(now)
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token so the next call signs a new one (after a 401)."""
        with self._lock:
            self._token = None
            self._expires_at = 0.0

    def _sign(self, now: float) -> tuple[str, float]:
        issued_at = int(now) - CLOCK_SKEW
        expires_at = issued_at + int(self.lifetime)
        payload: dict[str, object] = {"iat": issued_at, "exp": expires_at, "aud": AUDIENCE}
        if self.issuer_id:
            payload["iss"] = self.issuer_id
        else:
            payload["sub"] = "user"
        if self.scope:
            payload["scope"] = self.scope
        headers = {"kid": self.key_id, "typ": "JWT"}
        self.issued += 1
        return jwt.encode(payload, self._key, algorithm="ES256", headers=headers), expires_at

    def __repr__(self) -> str:  # never show the key or a token
        kind = "individual" if self.is_individual_key else "team"
        return f"<TokenProvider {kind} key {self.key_id}>"


def load_private_key(pem: str, setting: str = "ASC_PRIVATE_KEY") -> ec.EllipticCurvePrivateKey:
    """Load a .p8 (PKCS#8 PEM) P-256 key; a clear ConfigurationError names ``setting`` if not."""
    text = (pem or "").strip()
    if not text:
        raise ConfigurationError(f"{setting} is empty: it must hold the .p8 private key")
    try:
        key = serialization.load_pem_private_key(text.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise ConfigurationError(
            f"{setting} is not a readable .p8 private key: expected the PEM text that starts "
            "with -----BEGIN PRIVATE KEY-----"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigurationError(
            f"{setting} is not an App Store Connect API key: expected an EC P-256 (.p8) key"
        )
    return key
