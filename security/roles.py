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
    # the effective contract: the scores of the staff (doctors) and of the heads of organisations within the
    # scope; marking a score as disputed; editing the schemes (a new version with who and when)
    contract_staff: bool = False
    contract_heads: bool = False
    contract_mark: bool = False
    contract_schemes: bool = False


ROLES = {
    "admin": Role("admin", "Администратор", "city", False, True, True, True, True,
                  contract_staff=True, contract_heads=True, contract_schemes=True),
    "committee": Role("committee", "Руководитель комитета", "city", False, False, False, True, True,
                      contract_heads=True),
    "district": Role("district", "Руководитель района", "district", True, False, False, False, True,
                     contract_heads=True),
    "mo": Role("mo", "Руководитель МО", "mo", True, False, False, False, False, contract_staff=True),
    "analyst": Role("analyst", "Аналитик", "city", False, True, False, False, False),
    # the HR department of one organisation: its staff's scores, the month's payroll export
    "hr": Role("hr", "Кадровая служба МО", "mo", False, False, False, False, False,
               contract_staff=True, contract_mark=True),
    # the committee's HR: the heads of organisations, control of the staff scores, the schemes
    "hr_committee": Role("hr_committee", "Кадровая служба комитета", "city", False, False, False, False, False,
                         contract_staff=True, contract_heads=True, contract_mark=True, contract_schemes=True),
}
ROLE_NAMES = {r.code: r.name for r in ROLES.values()}
