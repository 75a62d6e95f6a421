"""Roles and what each may see and do."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    code: str
    name: str
    scope: str            # city, district or mo
    patients: bool        # patient-level lists (audited on every view)
    tokens: bool          # may hold API tokens
    manage_users: bool
    edit_targets: bool
    create_tasks: bool


ROLES = {
    "admin": Role("admin", "Администратор", "city", False, True, True, True, True),
    "committee": Role("committee", "Руководитель комитета", "city", False, False, False, True, True),
    "district": Role("district", "Руководитель района", "district", True, False, False, False, True),
    "mo": Role("mo", "Руководитель МО", "mo", True, False, False, False, False),
    "analyst": Role("analyst", "Аналитик", "city", False, True, False, False, False),
}
ROLE_NAMES = {r.code: r.name for r in ROLES.values()}
