from datetime import timedelta

import jwt
import pytest

from artifacts_app.asc import ConfigurationError, TokenProvider
from tests.simulator_fixtures import make_key_pair


class FakeClock:
    def __init__(self, now: float = 1_780_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def claims(token: str, public_pem: str) -> dict:
    return jwt.decode(token, public_pem, algorithms=["ES256"], audience="appstoreconnect-v1")


class TokenProviderTests:
    def test_team_key_token_carries_issuer_kid_and_audience(self, asc_key):
        provider = TokenProvider("KEY123", asc_key.private_pem, "issuer-1")
        token = provider.token()
        header = jwt.get_unverified_header(token)
        payload = claims(token, asc_key.public_pem)
        assert header == {"alg": "ES256", "kid": "KEY123", "typ": "JWT"}
        assert payload["iss"] == "issuer-1"
        assert "sub" not in payload

    def test_individual_key_token_has_sub_user_when_issuer_is_empty(self, asc_key):
        payload = claims(
            TokenProvider("KEY123", asc_key.private_pem, "").token(), asc_key.public_pem
        )
        assert payload["sub"] == "user"
        assert "iss" not in payload

    def test_lifetime_is_under_twenty_minutes_with_iat_back_dated(self, asc_key):
        clock = FakeClock()
        provider = TokenProvider("K", asc_key.private_pem, "i", clock=clock)
        payload = jwt.decode(provider.token(), options={"verify_signature": False})
        assert payload["iat"] <= clock.now - 30
        assert payload["exp"] - payload["iat"] <= 20 * 60
        assert payload["exp"] > clock.now + 10 * 60

    def test_token_is_reused_until_shortly_before_expiry(self, asc_key):
        clock = FakeClock()
        provider = TokenProvider("K", asc_key.private_pem, "i", clock=clock)
        first = provider.token()
        clock.now += 10 * 60
        assert provider.token() == first
        clock.now += 4 * 60  # 14 minutes in: within a minute of expiry
        renewed = provider.token()
        assert renewed != first
        assert provider.issued == 2

    def test_invalidate_forces_a_new_token(self, asc_key):
        clock = FakeClock()
        provider = TokenProvider("K", asc_key.private_pem, "i", clock=clock)
        first = provider.token()
        clock.now += 1
        provider.invalidate()
        assert provider.token() != first

    def test_lifetime_over_twenty_minutes_is_refused_without_get_only_scope(self, asc_key):
        with pytest.raises(ConfigurationError, match="at most 1200s"):
            TokenProvider("K", asc_key.private_pem, "i", lifetime=timedelta(minutes=30))
        scoped = TokenProvider(
            "K",
            asc_key.private_pem,
            "i",
            lifetime=timedelta(days=30),
            scope=["GET /v1/ciProducts"],
        )
        payload = jwt.decode(scoped.token(), options={"verify_signature": False})
        assert payload["scope"] == ["GET /v1/ciProducts"]

    def test_repr_shows_no_key_material(self, asc_key):
        provider = TokenProvider("K", asc_key.private_pem, "i")
        provider.token()
        assert "PRIVATE" not in repr(provider)
        assert provider.token() not in repr(provider)


class FromSettingsTests:
    def test_reads_the_key_file_named_by_asc_private_key_path(self, asc_key, tmp_path):
        path = tmp_path / "AuthKey_K.p8"
        path.write_text(asc_key.private_pem)
        provider = TokenProvider.from_settings_values("K", "iss", str(path), "")
        assert claims(provider.token(), asc_key.public_pem)["iss"] == "iss"

    def test_accepts_pem_text_with_escaped_newlines(self, asc_key):
        escaped = asc_key.private_pem.replace("\n", "\\n")
        provider = TokenProvider.from_settings_values("K", "", None, escaped)
        assert claims(provider.token(), asc_key.public_pem)["sub"] == "user"

    def test_missing_key_names_both_settings(self):
        with pytest.raises(ConfigurationError) as caught:
            TokenProvider.from_settings_values("K", "iss", "", "")
        assert "ASC_PRIVATE_KEY_PATH" in str(caught.value)
        assert "ASC_PRIVATE_KEY" in str(caught.value)

    def test_missing_key_id_names_asc_key_id(self, asc_key):
        with pytest.raises(ConfigurationError, match="ASC_KEY_ID"):
            TokenProvider.from_settings_values("", "iss", None, asc_key.private_pem)

    def test_unreadable_key_file_names_the_setting_and_path(self, tmp_path):
        missing = tmp_path / "nope.p8"
        with pytest.raises(ConfigurationError) as caught:
            TokenProvider.from_settings_values("K", "iss", str(missing), None)
        message = str(caught.value)
        assert message.startswith("ASC_PRIVATE_KEY_PATH")
        assert "nope.p8" in message

    def test_malformed_key_file_is_a_clear_error_without_its_content(self, tmp_path):
        path = tmp_path / "bad.p8"
        path.write_text(
            "-----BEGIN PRIVATE KEY-----\nnot-a-key-SECRETISH\n-----END PRIVATE KEY-----\n"
        )
        with pytest.raises(ConfigurationError) as caught:
            TokenProvider.from_settings_values("K", "iss", str(path), None)
        assert "ASC_PRIVATE_KEY_PATH is not a readable .p8 private key" in str(caught.value)
        assert "SECRETISH" not in str(caught.value)

    def test_rsa_or_other_curve_keys_are_refused(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        other = (
            ec.generate_private_key(ec.SECP384R1())
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )
        with pytest.raises(ConfigurationError, match="ASC_PRIVATE_KEY .*P-256"):
            TokenProvider.from_settings_values("K", "iss", None, other)

    def test_a_different_key_signs_differently(self, asc_key):
        other = make_key_pair()
        token = TokenProvider("K", other.private_pem, "i").token()
        with pytest.raises(jwt.InvalidSignatureError):
            claims(token, asc_key.public_pem)
