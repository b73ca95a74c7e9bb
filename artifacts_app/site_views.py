"""Views of the site as a whole rather than of its data: the icon and the 404 page."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from .middleware import API_PREFIXES


@login_not_required
@require_GET
@cache_control(max_age=86400)
def favicon(request):
    """Browsers ask for /favicon.ico on every page, the admin's included, whatever the HTML
    says; send them to the static (hashed, long-cached) file."""
    return HttpResponseRedirect(static("favicon.ico"))


def page_not_found(request, exception):
    """404: JSON for the API and the CSV, the site's own page everywhere else."""
    if request.path_info.startswith(API_PREFIXES):
        return JsonResponse({"error": f"no such resource: {request.path_info[:200]}"}, status=404)
    return render(request, "404.html", {"request_path": request.path}, status=404)
