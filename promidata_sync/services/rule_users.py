"""Who changed a rule, as the audit trail stores it."""

from __future__ import annotations

USERNAME_MAX_CHARS = 150


def username(user) -> str:
    """The user's name for ``created_by`` / ``RuleChange.user``: a Django user, a plain name
    (a command's ``--user``), or None ("" in the record)."""
    if user is None:
        return ""
    if isinstance(user, str):
        return user[:USERNAME_MAX_CHARS]
    name = user.get_username() if hasattr(user, "get_username") else str(user)
    return (name or "")[:USERNAME_MAX_CHARS]
