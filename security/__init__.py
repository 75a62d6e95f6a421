"""Users, roles, data scope, login, CSRF, API tokens and the audit log."""
from __future__ import annotations

from flask import current_app, g, has_request_context

from data_access.scope import CITY, Scope


def current_user():
    """The signed-in (or token-authenticated) user of this request, or None."""
    return g.get("iam_user") if has_request_context() else None


def current_scope() -> Scope:
    """The data scope of this request. Outside a request (CLI, jobs) the whole city."""
    if not has_request_context():
        return CITY
    user = g.get("iam_user")
    if user is None:
        # The gate lets no anonymous request reach data; refuse loudly if one does.
        from data_access.scope import ScopeError
        raise ScopeError("Требуется вход в систему")
    return user.scope


def audit_event(action: str, obj: str | None = None, details: dict | None = None) -> None:
    """Record an action of the current user in the audit log."""
    from . import audit as audit_mod
    user = current_user()
    audit_mod.record(current_app.extensions["iam"]["db"], action, user_id=user.user_id if user else None,
                     login=user.login if user else None, obj=obj, details=details)
