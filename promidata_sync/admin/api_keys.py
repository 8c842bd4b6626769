"""API keys in the admin: create one (its secret is shown once, on the page that answers the
form, and never again), see when each was last used, revoke.

Keys are created and revoked through ``services.api_keys``; the admin only collects the
name, scopes and limit. Who may do it: users with the usual add/change permissions on API
keys (superusers by default).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html

from promidata_sync.models import ApiKey
from promidata_sync.services.api_keys import create_key, revoke_key


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="catalog:read for shops and ERPs; sync:operate for scripts that start syncs.",
    )

    class Meta:
        model = ApiKey
        fields = ("name", "scopes", "requests_per_minute")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "prefix_shown", "scope_list", "created_at", "last_used_at", "state")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "=prefix")
    readonly_fields = ("prefix_shown", "created_at", "created_by", "last_used_at", "revoked_at")
    actions = ["revoke"]

    @admin.display(description="key")
    def prefix_shown(self, key: ApiKey) -> str:
        return f"{key.prefix}…" if key.prefix else "-"

    @admin.display(description="scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes or ())

    @admin.display(description="state")
    def state(self, key: ApiKey) -> str:
        if key.revoked_at:
            return format_html("revoked {}", key.revoked_at.strftime("%Y-%m-%d %H:%M"))
        return "active"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "scopes", "requests_per_minute")
        return ("name", "prefix_shown", "scopes", "requests_per_minute", *self.readonly_fields[1:])

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # A key's scopes are part of what was handed out: make a new key to change them.
        return ("scopes", *self.readonly_fields)

    def add_view(self, request, form_url="", extra_context=None):
        if request.method != "POST":
            return super().add_view(request, form_url, extra_context)
        if not self.has_add_permission(request):
            return super().add_view(request, form_url, extra_context)  # Django's 403
        form = ApiKeyForm(request.POST)
        if not form.is_valid():
            return super().add_view(request, form_url, extra_context)  # shows the errors
        key, plain = create_key(
            form.cleaned_data["name"],
            form.cleaned_data["scopes"],
            created_by=request.user,
            requests_per_minute=form.cleaned_data["requests_per_minute"],
        )
        self.log_addition(request, key, [{"added": {}}])
        # The only time the key exists in plain text: this page, sent once, not cached.
        response = TemplateResponse(
            request,
            "admin/promidata_sync/apikey/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "key": key,
                "plain": plain,
                "title": f"API key “{key.name}” created",
            },
        )
        return response  # the admin's never_cache makes it no-store

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            revoke_key(key)
            self.log_change(request, key, "Revoked")
        messages.success(request, "Revoked. Programs using these keys now get 401.")

    def has_delete_permission(self, request, obj=None):
        # Keep revoked keys: their name and last use explain old log lines.
        return False
