"""App Store Connect: HTTP, JSON:API and the Xcode Cloud simulator. Knows nothing of models."""

from .auth import TokenProvider
from .client import AscClient, RateLimit
from .errors import (
    AscError,
    AuthenticationError,
    ConfigurationError,
    ExpiredDownloadError,
    ForbiddenError,
    ForeignLinkError,
    NotFoundError,
    ParameterError,
    RateLimitError,
    ServerError,
    TransportError,
)

__all__ = [
    "AscClient",
    "AscError",
    "AuthenticationError",
    "ConfigurationError",
    "ExpiredDownloadError",
    "ForbiddenError",
    "ForeignLinkError",
    "NotFoundError",
    "ParameterError",
    "RateLimit",
    "RateLimitError",
    "ServerError",
    "TokenProvider",
    "TransportError",
]
