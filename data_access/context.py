"""Access to the current application's database from loaders."""
from __future__ import annotations

from flask import current_app

from .db import Database


def get_db() -> Database:
    return current_app.extensions["iam"]["db"]
