from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import sync_health


@require_GET
def dashboard(request):
    return render(request, "artifacts/dashboard.html")


@login_not_required
@never_cache
@require_GET
def healthz(request):
    return JsonResponse(sync_health())
