"""Bearer-token checks: why Apple would refuse a token, or None when it would take it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jwt

from .errors import unauthorized

if TYPE_CHECKING:
    from .app import SimulatorConfig

MAX_LIFETIME = 20 * 60
SCOPED_MAX_LIFETIME = 183 * 86400
AUDIENCE = "appstoreconnect-v1"
CLOCK_SKEW = 60  # seconds an iat may lie in the future


def bearer_token(environ: dict[str, Any], config: SimulatorConfig) -> str:
    """The request's accepted token; raises Apple's 401 with the reason otherwise."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Bearer "):
        raise unauthorized("no bearer token in the Authorization header")
    token = header.removeprefix("Bearer ").strip()
    reason = token_problem(token, config)
    if reason:
        raise unauthorized(reason)
    return token


def token_problem(token: str, config: SimulatorConfig) -> str | None:
    """Why Apple would refuse this token, or None when it is acceptable."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return "the bearer token is not a JWT"
    if header.get("alg") != "ES256":
        return f"alg must be ES256, not {header.get('alg')!r}"
    if config.key_id and header.get("kid") != config.key_id:
        return "kid does not name the API key (check ASC_KEY_ID)"
    options = {
        "verify_exp": False,
        "verify_iat": False,
        "verify_nbf": False,
        "verify_aud": False,
        "verify_signature": bool(config.public_key),
    }
    try:
        claims = jwt.decode(token, config.public_key or "", algorithms=["ES256"], options=options)
    except jwt.InvalidSignatureError:
        return "the signature does not match the API key's public key"
    except jwt.PyJWTError as exc:
        return f"the token cannot be verified: {type(exc).__name__}"
    return _claims_problem(claims, config)


def _claims_problem(claims: dict[str, Any], config: SimulatorConfig) -> str | None:
    if claims.get("aud") != AUDIENCE:
        return f"aud must be {AUDIENCE!r}"
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(exp, int | float):
        return "exp is required"
    if not isinstance(iat, int | float):
        # Apple documents iat as part of the token; its 20-minute rule is measured from it.
        return "iat is required: the token's lifetime is measured from it"
    now = config.clock()
    if exp <= now:
        return "the token has expired"
    if iat > now + CLOCK_SKEW:
        return "iat is in the future: check the clock"
    scope = claims.get("scope") or []
    get_only = bool(scope) and all(str(s).startswith("GET ") for s in scope)
    if exp - iat > (SCOPED_MAX_LIFETIME if get_only else MAX_LIFETIME):
        return "the token lives longer than 20 minutes without a GET-only scope"
    if config.issuer_id:
        if claims.get("sub") == "user" and "iss" not in claims:
            return "an individual-key token (sub 'user') was sent for a team key"
        if claims.get("iss") != config.issuer_id:
            return "iss does not match the issuer id (check ASC_ISSUER_ID)"
    elif config.individual_key:
        if "iss" in claims:
            return "a team-key token (iss) was sent for an individual key"
        if claims.get("sub") != "user":
            return "an individual key's token needs sub 'user'"
    return None
