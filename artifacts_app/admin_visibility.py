"""The admin shows a user the rows of the App Store Connect accounts they may see, no others.

`AccountScopedAdmin` is the base of every admin class of account data: its `get_queryset`
starts from `visible_to(request.user)`, which the changelist, search, date drill-down, change
pages (another account's row is a 404) and actions all read. Related-object filters and
foreign-key choices list visible rows only, so no other account's product or workflow name
reaches a page. `checks.every_account_admin_is_scoped` refuses an admin class of account data
that does not inherit it.
"""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from .models import Account


def visible_rows(model, user):
    """`model`'s rows visible to `user` when the model holds account data, else None."""
    if model is Account:
        return Account.objects.visible_to(user)
    manager = model._default_manager
    return manager.visible_to(user) if hasattr(manager, "visible_to") else None


class VisibleRelatedFilter(admin.RelatedFieldListFilter):
    """A related-object filter offering only the rows the user may see."""

    def field_choices(self, field, request, model_admin):
        rows = visible_rows(field.related_model, request.user)
        if rows is None:
            return super().field_choices(field, request, model_admin)
        ordering = self.field_admin_ordering(field, request, model_admin)
        return [(row.pk, str(row)) for row in rows.order_by(*ordering)]


class AccountScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin for rows that belong to an account (directly or through a relation)."""

    # Apple's URLs are https; a scheme-less one typed in the admin is read the same way.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def get_list_filter(self, request):
        filters = []
        for entry in super().get_list_filter(request):
            if isinstance(entry, str) and self._is_relation(entry):
                entry = (entry, VisibleRelatedFilter)
            filters.append(entry)
        # The account filter is useful (and shown) only to someone who sees several.
        if self._is_relation("account") and Account.objects.visible_to(request.user)[1:2]:
            filters.insert(0, ("account", VisibleRelatedFilter))
        return filters

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        rows = visible_rows(db_field.related_model, request.user)
        if rows is not None:
            kwargs["queryset"] = rows
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _is_relation(self, name):
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:  # a lookup path such as `build_run__workflow`
            return False
        return bool(field.is_relation and field.many_to_one)
