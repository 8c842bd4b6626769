"""The operators' rules in the admin: a supplier's exclusions, protected fields of products
and variants (editable on the product / variant page, marked "local edit"), and the audit
trail of both.

Every save goes through the services (``promidata_sync.services.exclusions`` and
``.protection``), which record who changed what; nothing here writes a rule itself.
Changing rules needs the rule models' own permissions (``add/change/delete_protectedfield``,
``..._supplierexclusion``); a user with only the view permissions sees them, read-only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from catalog.models import Category, Product, ProtectedField, RuleChange, SupplierExclusion
from promidata_sync.services import exclusions, protection

PROTECTION_PERMISSIONS = tuple(
    f"catalog.{action}_protectedfield" for action in ("add", "change", "delete")
)


def _no_saved_objects(formset) -> None:
    # The admin's change message reads what ``formset.save()`` would have set.
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


class ExclusionInline(admin.TabularInline):
    model = SupplierExclusion
    fields = ("pattern", "note", "created_by", "created_at")
    readonly_fields = ("created_by", "created_at")
    extra = 0
    verbose_name = "exclusion (never imported)"
    verbose_name_plural = "Exclusions: family SKUs or patterns (* and ?) never imported"


def exclusions_save(admin_site_model, request, formset) -> None:
    """Save an exclusion inline through the service, one rule at a time; a refused rule is
    reported and the others are kept."""
    for form in formset.forms:
        if not form.has_changed() and not (form.instance.pk and _deleted(formset, form)):
            continue
        try:
            if form.instance.pk and _deleted(formset, form):
                exclusions.exclusion_remove(form.instance, user=request.user)
            elif form.instance.pk:
                exclusions.exclusion_change(
                    form.instance,
                    pattern=form.cleaned_data["pattern"],
                    note=form.cleaned_data.get("note", ""),
                    user=request.user,
                )
            else:
                exclusions.exclusion_add(
                    formset.instance,
                    form.cleaned_data["pattern"],
                    note=form.cleaned_data.get("note", ""),
                    user=request.user,
                )
        except exclusions.ExclusionError as exc:
            admin_site_model.message_user(request, f"Exclusion not saved: {exc}", messages.ERROR)
    _no_saved_objects(formset)


def _deleted(formset, form) -> bool:
    return formset.can_delete and formset._should_delete_form(form)


class _ProtectedFieldForm(forms.ModelForm):
    allowed: tuple[str, ...] = ()

    class Meta:
        model = ProtectedField
        fields = ("field", "local_value")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"] = forms.ChoiceField(choices=[(n, n) for n in self.allowed])
        self.fields["local_value"].required = False
        self.fields["local_value"].help_text = "JSON; empty: keep the current value"
        if self.instance.pk:  # a rule's field is fixed: remove it and add another
            self.fields["field"].disabled = True

    def validate_constraints(self, exclude=None):
        pass  # the service refuses duplicates (protecting twice sets the local value)


class ProductProtectedFieldForm(_ProtectedFieldForm):
    allowed = ProtectedField.PRODUCT_FIELDS


class VariantProtectedFieldForm(_ProtectedFieldForm):
    allowed = ProtectedField.VARIANT_FIELDS


class _ProtectedFieldInline(admin.TabularInline):
    model = ProtectedField
    fields = ("field", "local_value", "feed_value", "feed_seen_at", "updated_by", "updated_at")
    readonly_fields = ("feed_value", "feed_seen_at", "updated_by", "updated_at")
    extra = 0
    verbose_name = "protected field"
    verbose_name_plural = "Protected fields (the sync keeps the local value)"


class ProductProtectedFieldInline(_ProtectedFieldInline):
    fk_name = "product"
    form = ProductProtectedFieldForm


class VariantProtectedFieldInline(_ProtectedFieldInline):
    fk_name = "variant"
    form = VariantProtectedFieldForm


class ProtectedFieldsAdminMixin:
    """For the read-only product and variant admins: users who may change protected fields
    may edit exactly the protected fields of the page (everything else stays read-only),
    each marked "local edit" with the feed's value beside it; saving goes through
    ``protection.set_local_value``, the inline through ``protect`` / ``unprotect``."""

    def has_change_permission(self, request, obj=None):
        return any(request.user.has_perm(p) for p in PROTECTION_PERMISSIONS)

    def _rules(self, obj) -> dict[str, ProtectedField]:
        if obj is None or obj.pk is None:
            return {}
        if not hasattr(obj, "_protection_rules"):
            target = {"product": obj} if isinstance(obj, Product) else {"variant": obj}
            obj._protection_rules = {r.field: r for r in ProtectedField.objects.filter(**target)}
        return obj._protection_rules

    def _editable(self, request, obj) -> set[str]:
        if not request.user.has_perm("catalog.change_protectedfield"):
            return set()
        return set(self._rules(obj))

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if "names" in self._rules(obj) and "name_list" in fields:
            fields[fields.index("name_list")] = "names"  # the raw field, to edit it
        return fields

    def get_readonly_fields(self, request, obj=None):
        editable = self._editable(request, obj)
        names = []
        for entry in self.get_fields(request, obj):
            names += list(entry) if isinstance(entry, tuple | list) else [entry]
        return [n for n in names if n not in editable]

    def get_form(self, request, obj=None, change=False, **kwargs):
        # Meta.help_texts reach editable and read-only fields alike: the marker shows for
        # viewers too.
        kwargs["help_texts"] = {
            name: format_html(
                '<strong class="pd-local-edit">local edit</strong> feed: <code>{}</code>',
                "-" if rule.feed_value in (None, "", {}) else rule.feed_value,
            )
            for name, rule in self._rules(obj).items()
        }
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request, obj, form, change):
        """Not ``obj.save()``: only the changed protected fields, through the service."""
        rules = self._rules(obj)
        for name in form.changed_data:
            if name not in rules:
                continue
            value = form.cleaned_data[name]
            if isinstance(value, Category):
                value = value.key
            try:
                protection.set_local_value(rules[name], value, user=request.user)
            except protection.ProtectionError as exc:
                self.message_user(request, f"{name} not saved: {exc}", messages.ERROR)

    def save_formset(self, request, form, formset, change):
        if formset.model is not ProtectedField:
            return super().save_formset(request, form, formset, change)
        for row in formset.forms:
            try:
                _protection_save(formset, row, request.user)
            except protection.ProtectionError as exc:
                self.message_user(request, f"Protection not saved: {exc}", messages.ERROR)
        _no_saved_objects(formset)


def _protection_save(formset, form, user) -> None:
    if form.instance.pk and _deleted(formset, form):
        protection.unprotect(form.instance, user=user)
    elif form.instance.pk:
        if "local_value" in form.changed_data:
            protection.set_local_value(form.instance, form.cleaned_data["local_value"], user=user)
    elif form.has_changed() and form.cleaned_data.get("field"):
        protection.protect(
            formset.instance,
            form.cleaned_data["field"],
            user=user,
            value=form.cleaned_data.get("local_value"),
        )


@admin.register(RuleChange)
class RuleChangeAdmin(admin.ModelAdmin):
    """The audit trail: read-only, newest first."""

    list_display = ("at", "user", "rule", "action", "subject", "supplier")
    list_filter = ("rule", "action", "supplier", "user")
    search_fields = ("subject", "user")
    list_select_related = ("supplier",)
    fields = ("at", "user", "rule", "action", "supplier", "subject", "detail")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
