"""Notification rules (who is told about which events) and the log of every message.

Rules are edited by anyone with the rule's change permission; the addresses are checked
(one per line, or separated by commas). Messages are records: nobody adds or edits them;
"Send again" (failed ones) needs ``promidata_sync.operate_sync``, like the sync actions.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from promidata_sync.admin.permissions import OperateSyncAdminMixin, require_operate
from promidata_sync.models import NOTIFICATION_EVENTS, Notification, NotificationRule
from promidata_sync.services import notifications


class NotificationRuleForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=[(e.value, e.label) for e in NOTIFICATION_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text="The events that send a message to these addresses.",
    )

    class Meta:
        model = NotificationRule
        fields = ("name", "events", "emails", "suppliers", "is_active")
        widgets = {"emails": forms.Textarea(attrs={"rows": 4})}

    def clean_emails(self):
        try:
            addresses = notifications.parse_emails(self.cleaned_data["emails"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None
        if not addresses:
            raise forms.ValidationError("Give at least one address.")
        return "\n".join(addresses)


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    form = NotificationRuleForm
    list_display = ("name", "chosen_events", "recipient_count", "is_active", "created_by")
    list_filter = ("is_active",)
    filter_horizontal = ("suppliers",)
    readonly_fields = ("created_by", "created_at", "updated_at")

    @admin.display(description="events")
    def chosen_events(self, rule):
        return ", ".join(rule.events or [])

    @admin.display(description="recipients")
    def recipient_count(self, rule):
        return len([line for line in rule.emails.splitlines() if line.strip()])

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)


@admin.action(permissions=["operate_sync"], description="Send again")
def send_again(modeladmin, request, queryset):
    """Send the selected failed notifications again, after the commit."""
    require_operate(request)
    count = notifications.notifications_retry(queryset.values_list("pk", flat=True))
    if count:
        modeladmin.message_user(request, f"Sending {count} notification(s) again.")
    else:
        modeladmin.message_user(
            request, "Only failed notifications are sent again.", messages.WARNING
        )


@admin.register(Notification)
class NotificationAdmin(OperateSyncAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "event", "subject", "state", "attempts", "sent_at")
    list_filter = ("state", "event")
    search_fields = ("subject", "key")
    actions = [send_again]
    fields = (
        "event",
        "key",
        "run",
        "subject",
        "body",
        "recipients",
        "state",
        "error",
        "attempts",
        "created_at",
        "sent_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
