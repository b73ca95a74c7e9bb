"""API tokens for scripts and CI."""

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A token a script or CI job sends as `Authorization: Bearer ...` to act as its user.

    Only the SHA-256 of the token is stored; `prefix` (its first characters, shown by
    `api_token list`) finds the row, and the hashes are then compared in constant time.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField("label", max_length=100, blank=True)
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField("SHA-256 of the token", max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user__username", "created_at"]
        verbose_name = "API token"
        indexes = [
            # Every token-authenticated request looks its token up by prefix.
            models.Index(fields=["prefix"], name="apitoken_prefix_idx"),
        ]

    def __str__(self):
        return f"{self.prefix}… ({self.name or 'no label'})"
