"""A user's own API tokens, managed from a page: list, create (shown once), revoke."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from .models import ApiToken
from .tokens import create_token

NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length


@require_http_methods(["GET", "POST"])
def my_tokens(request):
    """GET lists the user's tokens; POST creates one and shows it this once."""
    new_token = None
    if request.method == "POST":
        name = request.POST.get("name", "").strip()[:NAME_MAX_LENGTH]
        _, new_token = create_token(request.user, name=name)
    tokens = ApiToken.objects.filter(user=request.user).order_by("-created_at")
    response = render(request, "artifacts/tokens.html", {"tokens": tokens, "new_token": new_token})
    # The one response that carries a token must not be kept by any cache.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def revoke_my_token(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token.delete()
    messages.success(request, f"Token {token.prefix} revoked.")
    return redirect("my-tokens")
