"""The Xcode Cloud webhook receiver, and the page that shows admins where to point it."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from ..accounts.webhook_tokens import account_for_token, settings_tokens
from . import queue
from .models import QueuedRun, WebhookDelivery
from .payload import MAX_BODY_BYTES, PayloadError, parse_delivery


# Apple's only secret is the token in the URL: there is no CSRF token and no login to check.
@csrf_exempt
@login_not_required
def xcode_cloud(request, token):
    # Each account has its own token; the run is queued under the account whose URL it came to.
    account = account_for_token(token)
    if account is None:
        raise Http404("unknown webhook")
    if request.method != "POST":
        return JsonResponse(
            {"error": "POST a delivery here"}, status=405, headers={"Allow": "POST"}
        )
    body = _read_body(request)
    if body is None:
        return JsonResponse({"error": f"the body is over {MAX_BODY_BYTES} bytes"}, status=413)
    try:
        delivery = parse_delivery(body)
    except PayloadError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    # Apple redelivers until it sees a success: a redelivery is counted, nothing more.
    created = queue.record_delivery(delivery.run_id, delivery.event_type, account)
    status = "queued" if created else "duplicate"
    return JsonResponse({"status": status, "run": delivery.run_id}, status=202 if created else 200)


def _read_body(request) -> bytes | None:
    """The body, or None when it is over the limit (read no further than that)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


@require_GET
@never_cache
def webhook_settings(request):
    """The URL(s) to paste into App Store Connect, and what the queue is doing: staff only,
    since the URL is the secret."""
    if not request.user.is_staff:
        raise PermissionDenied
    base = settings.SITE_URL or request.build_absolute_uri("/").rstrip("/")
    urls = [base + reverse("xcode-cloud-webhook", args=[token]) for token in settings_tokens()]
    context = {
        "urls": urls,
        "queued": QueuedRun.objects.visible_to(request.user).count(),
        "recent": WebhookDelivery.objects.visible_to(request.user)[:20],
    }
    return render(request, "webhooks/settings.html", context)
