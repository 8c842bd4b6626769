"""Who may operate syncs from the admin, and refusing actions a user may not run."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect

OPERATE_PERMISSION = "promidata_sync.operate_sync"


def can_operate(user) -> bool:
    """True for an active staff user holding ``promidata_sync.operate_sync`` (start, stop,
    retry syncs). Superusers hold every permission."""
    return bool(
        user is not None and user.is_active and user.is_staff and user.has_perm(OPERATE_PERMISSION)
    )


def require_operate(request) -> None:
    """Raise ``PermissionDenied`` (403) unless the request's user may operate syncs."""
    if not can_operate(request.user):
        raise PermissionDenied(f"the permission {OPERATE_PERMISSION} is required")


class OperateSyncAdminMixin:
    """For ModelAdmins with sync actions declared ``@admin.action(permissions=["operate_sync"])``.

    Provides ``has_operate_sync_permission``, answers 403 to a POST naming an action the user
    may not run (Django alone would drop such an action with a "no action selected" message
    and a redirect, which hides a forged request instead of refusing it), and a message, not
    a 500, to one selecting ids that are not row numbers.
    """

    def has_operate_sync_permission(self, request) -> bool:
        return can_operate(request.user)

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST":
            self.refuse_forbidden_actions(request)
        return super().changelist_view(request, extra_context)

    def refuse_forbidden_actions(self, request) -> None:
        posted = {name for name in request.POST.getlist("action") if name}
        declared = {name for _, name, _ in self._get_base_actions()}
        if (posted & declared) - set(self.get_actions(request)):
            raise PermissionDenied("you may not run this action")

    def response_action(self, request, queryset):
        """Django's action handling, minus its 500 for selected ids that are not row ids
        (a forged or mangled POST): those get a message and the list again."""
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if not all(value.isascii() and value.isdigit() and len(value) < 19 for value in selected):
            self.message_user(request, "The selection was not understood.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)
