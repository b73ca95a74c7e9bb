"""Size budgets, the record of which runs each was checked against, and what broke them."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .. import encryption
from ..models.accounts import AccountOwned, scoped_through


class SizeBudget(AccountOwned):
    """A limit on a build run's bytes: absolute, or growth over the run's baseline.

    Scope fields left empty match everything. A budget applies to runs that complete after
    it was created (`created_at`): adding one never alerts on history. Notification URLs
    (Apprise URLs, which carry tokens) are stored encrypted and shown only masked.
    """

    name = models.CharField(max_length=100, unique=True)
    max_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    max_growth_percent = models.DecimalField(
        "max growth (%)", max_digits=9, decimal_places=2, null=True, blank=True
    )
    product_asc_id = models.CharField("product id", max_length=64, blank=True)
    workflow_asc_id = models.CharField("workflow id", max_length=64, blank=True)
    branch = models.CharField(max_length=255, blank=True)
    file_type = models.CharField(max_length=40, blank=True)
    notify_urls_encrypted = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "size budget"
        constraints = [
            models.CheckConstraint(
                condition=Q(max_bytes__isnull=False, max_growth_percent__isnull=True)
                | Q(max_bytes__isnull=True, max_growth_percent__isnull=False),
                name="budget_one_limit",
                violation_error_message="Set either a maximum size or a maximum growth.",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def notify_urls(self) -> list[str]:
        return encryption.decrypt_list(self.notify_urls_encrypted)

    @notify_urls.setter
    def notify_urls(self, urls: list[str]) -> None:
        self.notify_urls_encrypted = encryption.encrypt_list(urls)


class BudgetCheck(models.Model):
    """That a budget was checked against a run: each pair is checked (and alerts) once."""

    budget = models.ForeignKey(SizeBudget, on_delete=models.CASCADE, related_name="checks")
    run = models.ForeignKey(
        "artifacts_app.CiBuildRun", on_delete=models.CASCADE, related_name="budget_checks"
    )
    checked_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_through("run")

    class Meta:
        verbose_name = "budget check"
        constraints = [
            models.UniqueConstraint(fields=["budget", "run"], name="budget_check_unique"),
        ]

    def __str__(self):
        return f"{self.budget_id} on {self.run_id}"


class BudgetViolation(models.Model):
    """A run that broke a budget, and the state of its alert.

    Unique per (budget, run), so concurrent workers and restarts cannot alert twice. The
    alert goes to each of the budget's URLs once: `delivered_to` lists the fingerprints of
    those that took it, and a failed delivery is retried with backoff (`next_attempt_at`)
    until `notified_at` is set or the attempts run out (`delivery_error` says why).
    """

    budget = models.ForeignKey(
        SizeBudget, on_delete=models.SET_NULL, null=True, related_name="violations"
    )
    budget_name = models.CharField(max_length=100)
    run = models.ForeignKey(
        "artifacts_app.CiBuildRun", on_delete=models.CASCADE, related_name="budget_violations"
    )
    file_type = models.CharField(max_length=40, blank=True, help_text="Empty: all types.")
    bytes = models.PositiveBigIntegerField()
    limit_bytes = models.PositiveBigIntegerField()
    baseline_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    notified_at = models.DateTimeField(null=True, blank=True)
    delivery_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.TextField(blank=True)
    delivered_to = models.JSONField(default=list, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    objects = scoped_through("run")

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "budget violation"
        constraints = [
            models.UniqueConstraint(fields=["budget", "run"], name="budget_violation_unique"),
        ]
        indexes = [
            # The violations page and API: newest first.
            models.Index(fields=["-created_at"], name="violation_created_idx"),
            # The alert sender: violations not yet notified whose next attempt is due.
            models.Index(fields=["notified_at", "next_attempt_at"], name="violation_due_idx"),
        ]

    def __str__(self):
        return f"{self.budget_name} broken by run {self.run_id}"
