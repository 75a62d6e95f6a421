"""Data scope: which districts and organisations a person may see, enforced in data access.

A scope is applied by every loader, not by hiding menu items. Rules (documented in
docs/security.md):
- city-wide aggregates (the region level) are visible to every role;
- a list of districts or organisations shows only the units inside the scope;
- asking for the children of a unit outside the scope (another district's organisations,
  another organisation's doctors) raises ``ScopeError`` — a 403 in the API, a refusal on a page.
"""
from __future__ import annotations

from dataclasses import dataclass


class ScopeError(PermissionError):
    """The data asked for lies outside the person's scope (``unit``: what was asked, for the audit log)."""

    def __init__(self, message: str, unit: str | None = None):
        super().__init__(message)
        self.unit = unit


@dataclass(frozen=True)
class Scope:
    districts: frozenset[int] | None = None   # None: every district
    mos: frozenset[int] | None = None         # None: every organisation of the allowed districts
    patients: bool = False                    # may see patient-level lists
    label: str = "весь город"

    @property
    def is_city(self) -> bool:
        return self.districts is None and self.mos is None

    @property
    def key(self) -> str:
        d = "*" if self.districts is None else ",".join(map(str, sorted(self.districts)))
        m = "*" if self.mos is None else ",".join(map(str, sorted(self.mos)))
        return f"d={d};m={m};p={int(self.patients)}"

    def district_ok(self, district_id: int) -> bool:
        return self.districts is None or int(district_id) in self.districts

    def mo_ok(self, mo_id: int, district_id: int | None = None) -> bool:
        if self.mos is not None:
            return int(mo_id) in self.mos
        return district_id is None or self.district_ok(district_id)

    def require_district(self, district_id: int) -> None:
        if not self.district_ok(district_id):
            raise ScopeError("Данные этого района вне вашей области доступа")

    def require_mo(self, mo_id: int, district_id: int) -> None:
        if not self.mo_ok(mo_id, district_id):
            raise ScopeError("Данные этой организации вне вашей области доступа")


CITY = Scope()
