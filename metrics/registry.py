"""The indicator registry of the running app, or the default one outside an app."""
from __future__ import annotations

from .model import Registry, load_registry

_REGISTRY: Registry | None = None


def registry() -> Registry:
    """The registry of the current app (``INDICATORS_FILE``), or the default one outside an app."""
    from flask import current_app, has_app_context
    if has_app_context() and (reg := current_app.extensions.get("iam", {}).get("registry")) is not None:
        return reg
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = load_registry()
    return _REGISTRY


def reload_registry(path=None) -> Registry:
    """Parse and validate a registry (at start-up: a broken declaration stops the app).

    Args:
        path: a registry file other than ``metrics/indicators.toml``; the default one is also kept
            as the registry of code running outside an app.
    """
    global _REGISTRY
    if path:
        return load_registry(path)
    _REGISTRY = load_registry()
    return _REGISTRY
