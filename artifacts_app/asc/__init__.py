"""App Store Connect: HTTP, JSON:API and the Xcode Cloud simulator. Knows nothing of models."""

from .auth import TokenProvider
from .budget import RateLimit
from .client import AscClient
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
