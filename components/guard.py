"""Access checks for page layouts and callbacks, with the refusal shown in Russian."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from data_access.scope import ScopeError


def refusal(message: str = "Нет доступа к этим данным") -> dbc.Alert:
    return dbc.Alert([html.I(className="bi bi-shield-lock me-2"), message], color="danger", id="access-denied")


def role_refusal(user, roles) -> dbc.Alert | None:
    """A refusal when the user's role is not among ``roles`` (None when allowed)."""
    if user is None or user.role not in roles:
        return refusal("Эта страница недоступна для вашей роли")
    return None


def refused(exc: ScopeError) -> dbc.Alert:
    """A refusal for a unit or task outside the person's scope, recorded in the audit log."""
    from security import audit_event
    audit_event("forbidden", obj=str(exc), details={"unit": getattr(exc, "unit", None)})
    return refusal(str(exc))


def scoped(fn):
    """Run a layout builder; a ScopeError becomes a refusal (and an audit entry), not a traceback."""
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ScopeError as exc:
            return refused(exc)
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper
