"""Webhook endpoints (who is told about finished runs) and the log of every delivery.

The endpoint's secret is write-only: the form never renders it back. Left blank when an
endpoint is added, a random one is generated and shown once, on the page right after saving
(rendered straight into that response, never stored in a message or the session); left blank
when an endpoint is edited, the current one is kept; typed in, it replaces it (a rotation:
the receiver needs the new one first, or accepts both for a while).

Deliveries are records: nobody adds, edits or deletes them here. "Send test event" and
"Retry now" need ``promidata_sync.operate_sync``, like the sync actions.
"""

from __future__ import annotations

import json
import secrets

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.http import urlencode

from promidata_sync.admin.permissions import OperateSyncAdminMixin, require_operate
from promidata_sync.models import WebhookDelivery, WebhookEndpoint
from promidata_sync.services import webhooks
from promidata_sync.url_safety import url_problem

SECRET_MIN_CHARS = 16
GENERATED_SECRET_BYTES = 32


def _formfield(model_field, **kwargs):
    if isinstance(model_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return model_field.formfield(**kwargs)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=WebhookEndpoint._meta.get_field("url").max_length,
        assume_scheme="https",
        help_text="https://… (plain http only reaches PROMIDATA_WEBHOOK_ALLOWED_NETWORKS)",
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEndpoint.Event.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None: the endpoint only gets test events.",
    )
    # Not the model's field: so the stored secret is never the form's initial value, and a
    # blank field can mean "keep it".
    new_secret = forms.CharField(
        label="Secret",
        required=False,
        strip=True,
        min_length=SECRET_MIN_CHARS,
        max_length=WebhookEndpoint._meta.get_field("secret").max_length,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "Signs every body (HMAC-SHA256). Never shown again. Blank when adding: one is "
            "generated and shown once. Blank when editing: the current one is kept."
        ),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "events", "is_active")
        # The model's URLField would build a form field with Django 5's deprecated default
        # scheme (a warning at import) before the declared ``url`` replaces it.
        formfield_callback = _formfield

    def clean_url(self):
        url = self.cleaned_data["url"]
        problem = url_problem(url)
        if problem:
            raise forms.ValidationError(f"This URL is refused: {problem}.")
        if not url.lower().startswith(("https://", "http://")):
            raise forms.ValidationError("Webhook URLs are https:// (http:// for allowed networks).")
        return url


@admin.action(permissions=["operate_sync"], description="Send test event")
def send_test_event(modeladmin, request, queryset):
    """Send a "ping" delivery to each selected active endpoint."""
    require_operate(request)
    active = list(queryset.filter(is_active=True))
    for endpoint in active:
        webhooks.delivery_ping(endpoint)
    skipped = queryset.count() - len(active)
    modeladmin.message_user(
        request,
        format_html(
            "Test event sent to {} endpoint{}{}; see {}.",
            len(active),
            "" if len(active) == 1 else "s",
            f" ({skipped} inactive skipped)" if skipped else "",
            format_html(
                '<a href="{}">the delivery log</a>',
                reverse("admin:promidata_sync_webhookdelivery_changelist"),
            ),
        ),
        messages.SUCCESS if active else messages.WARNING,
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OperateSyncAdminMixin, admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("name", "target", "subscribed", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    actions = [send_test_event]
    fields = ("name", "url", "events", "is_active", "new_secret", "deliveries")
    readonly_fields = ("deliveries",)

    @admin.display(description="Sends to")
    def target(self, endpoint):
        return webhooks.shown_url(endpoint.url)

    @admin.display(description="Events")
    def subscribed(self, endpoint):
        return ", ".join(endpoint.events or []) or "-"

    @admin.display(description="Deliveries")
    def deliveries(self, endpoint):
        if endpoint.pk is None:
            return "-"
        url = reverse("admin:promidata_sync_webhookdelivery_changelist")
        query = urlencode({"endpoint__id__exact": endpoint.pk})
        return format_html('<a href="{}?{}">delivery log</a>', url, query)

    def save_model(self, request, obj, form, change):
        typed = form.cleaned_data.get("new_secret")
        if typed:
            obj.secret = typed
        elif not change or not obj.secret:
            obj.secret = secrets.token_urlsafe(GENERATED_SECRET_BYTES)
            # Shown once by response_add, from the request: nowhere else holds it.
            request._webhook_secret_shown_once = obj.secret
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_webhook_secret_shown_once", "")
        if not secret:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(request, f"The webhook endpoint “{obj}” was added.", messages.SUCCESS)
        return self._secret_once(request, obj, secret)

    def response_change(self, request, obj):
        # An endpoint saved without a secret (an old row) got one generated: show it too.
        secret = getattr(request, "_webhook_secret_shown_once", "")
        if not secret:
            return super().response_change(request, obj)
        self.message_user(request, f"The webhook endpoint “{obj}” was changed.", messages.SUCCESS)
        return self._secret_once(request, obj, secret)

    def _secret_once(self, request, obj, secret: str):
        response = TemplateResponse(
            request,
            "admin/promidata_sync/webhookendpoint/secret_once.html",
            {
                **self.admin_site.each_context(request),
                "title": "Copy the endpoint's secret now",
                "opts": self.opts,
                "endpoint": obj,
                "secret": secret,
            },
        )
        add_never_cache_headers(response)
        return response


@admin.action(permissions=["operate_sync"], description="Retry now")
def retry_now(modeladmin, request, queryset):
    """Send the selected pending or failed deliveries again now (``deliveries_retry``)."""
    require_operate(request)
    count = webhooks.deliveries_retry(queryset.values_list("pk", flat=True))
    modeladmin.message_user(
        request,
        f"{count} deliver{'y' if count == 1 else 'ies'} sent again"
        + ("" if count else " (only pending or failed ones are)"),
        messages.SUCCESS if count else messages.INFO,
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OperateSyncAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "endpoint",
        "event",
        "state",
        "attempts",
        "last_status",
        "duration",
        "run_link",
    )
    list_filter = ("state", "event", "endpoint")
    list_select_related = ("endpoint",)
    ordering = ("-created_at", "-id")
    list_per_page = 100
    show_full_result_count = False
    actions = [retry_now]
    fields = (
        ("endpoint", "event"),
        ("event_id", "run_link"),
        ("state", "attempts", "next_attempt_at"),
        ("last_status", "duration"),
        "last_error",
        ("created_at", "delivered_at"),
        "body",
    )
    readonly_fields = (
        "endpoint",
        "event",
        "event_id",
        "run_link",
        "state",
        "attempts",
        "next_attempt_at",
        "last_status",
        "duration",
        "last_error",
        "created_at",
        "delivered_at",
        "body",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Duration", ordering="last_duration_ms")
    def duration(self, delivery):
        return "-" if delivery.last_duration_ms is None else f"{delivery.last_duration_ms} ms"

    @admin.display(description="Run", ordering="run_id")
    def run_link(self, delivery):
        if delivery.run_id is None:
            return "-"
        url = reverse("admin:promidata_sync_syncrun_change", args=[delivery.run_id])
        return format_html('<a href="{}">#{}</a>', url, delivery.run_id)

    @admin.display(description="Body")
    def body(self, delivery):
        return format_html("<pre>{}</pre>", json.dumps(delivery.payload, indent=2, sort_keys=True))
