"""The violations page (filter, acknowledge) and `GET /api/v1/violations`."""

from __future__ import annotations

from django import forms
from django.core.paginator import EmptyPage, Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from ..forms import AccountsParam
from .models import BudgetViolation, SizeBudget

PAGE_SIZE = 50


class ViolationFilter(AccountsParam):
    """The violations of the accounts the user may see (`account=` narrows them)."""

    budget = forms.CharField(required=False, max_length=100)
    product = forms.CharField(required=False, max_length=64)
    state = forms.ChoiceField(
        required=False,
        choices=[("", "All"), ("open", "Not acknowledged"), ("acknowledged", "Acknowledged")],
    )
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, data, *, user):
        super().__init__(data)
        self.see_accounts_of(user)

    def error_line(self) -> str:
        name, errors = next(iter(self.errors.items()))
        return f"{name}: {errors[0]}"

    def queryset(self):
        data = self.cleaned_data
        rows = BudgetViolation.objects.of_accounts(self._account_pks()).select_related(
            "run__product", "run__workflow"
        )
        if data["budget"]:
            rows = rows.filter(budget_name=data["budget"])
        if data["product"]:
            rows = rows.filter(run__product__asc_id=data["product"])
        if data["state"] == "open":
            rows = rows.filter(acknowledged_at=None)
        elif data["state"] == "acknowledged":
            rows = rows.exclude(acknowledged_at=None)
        return rows.order_by("-created_at", "-pk")


@require_GET
def violations(request):
    form = ViolationFilter(request.GET, user=request.user)
    if not form.is_valid():
        return render(
            request,
            "budgets/violations.html",
            {"form": form, "error": form.error_line(), "page": None},
            status=400,
        )
    page = Paginator(form.queryset(), PAGE_SIZE).get_page(form.cleaned_data["page"])
    context = {
        "form": form,
        "page": page,
        "budgets": SizeBudget.objects.visible_to(request.user).values_list("name", flat=True),
        "query": _query_without_page(request),
    }
    return render(request, "budgets/violations.html", context)


@require_POST
def acknowledge(request):
    pk = request.POST.get("violation", "")
    violation = get_object_or_404(
        BudgetViolation.objects.visible_to(request.user), pk=pk if pk.isdigit() else None
    )
    if violation.acknowledged_at is None:
        violation.acknowledged_at = timezone.now()
        violation.acknowledged_by = request.user
        violation.save(update_fields=["acknowledged_at", "acknowledged_by"])
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = "violations"
    return redirect(back)


@require_GET
def api_violations(request):
    form = ViolationFilter(request.GET, user=request.user)
    if not form.is_valid():
        return JsonResponse({"error": form.error_line()}, status=400)
    paginator = Paginator(form.queryset(), PAGE_SIZE)
    try:
        page = paginator.page(form.cleaned_data["page"] or 1)
    except EmptyPage:
        return JsonResponse(
            {"error": f"page: there are only {paginator.num_pages} pages"}, status=400
        )
    next_url = None
    if page.has_next():
        params = request.GET.copy()
        params["page"] = str(page.number + 1)
        next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
    return JsonResponse(
        {
            "count": paginator.count,
            "next": next_url,
            "results": [_violation_json(v) for v in page.object_list],
        }
    )


def _violation_json(violation: BudgetViolation) -> dict:
    return {
        "id": violation.pk,
        "budget": violation.budget_name,
        "run": {"id": violation.run.asc_id, "number": violation.run.number},
        "product": {"id": violation.run.product.asc_id, "name": violation.run.product.name},
        "file_type": violation.file_type or None,
        "bytes": violation.bytes,
        "limit_bytes": violation.limit_bytes,
        "baseline_bytes": violation.baseline_bytes,
        "created_at": violation.created_at.isoformat(),
        "notified": violation.notified_at is not None,
        "acknowledged": violation.acknowledged_at is not None,
    }


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
