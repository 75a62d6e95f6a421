"""Codes of the effective contract's data, declared once: positions of staff assignments, complaint topics,
staff groups of the payroll, and the cancer sites by which a late diagnosis counts as neglected.

The contract tables (``data_access.schema``: their column documentation), the generator, the marts and the
method texts of the registry read these declarations. A cancer case is *neglected* when it is diagnosed at
stage IV, or at stage III in a visual site (визуальные локализации: the tumour could have been seen at an
examination) — as the oncology statistics (form № 7) count neglect.
"""
from __future__ import annotations

from .registers import icd_ranges, in_ranges, ranges_text

# Positions of ``employment.position``: the code and its Russian name.
POSITIONS: dict[str, str] = {
    "therapist": "Участковый терапевт",
    "gp": "Врач общей практики",
    "paediatrician": "Участковый педиатр",
    "specialist": "Врач-специалист",
    "obgyn": "Акушер-гинеколог женской консультации",
    "head": "Главный врач",
    "other": "Другая должность",
}
# Positions whose doctors get a monthly plan of visits (``doctor_plan``).
PLANNED_POSITIONS = ("therapist", "gp", "paediatrician", "specialist", "obgyn")
HEAD = "head"

# Topics of ``complaint.topic``.
COMPLAINT_TOPICS: dict[str, str] = {
    "access": "доступность помощи (запись, ожидание)",
    "attitude": "отношение персонала",
    "quality": "качество медицинской помощи",
    "other": "другое",
}

# Staff groups of ``salary.staff_group``.
STAFF_GROUPS: dict[str, str] = {
    "doctors": "врачи",
    "nurses": "средний медицинский персонал",
}

# Malignant neoplasms: the cases of the cancer register that the neglect measure counts.
MALIGNANT = icd_ranges("C00-C97")
# Visual sites: lip, oral cavity and pharynx; rectum and anus; skin (melanoma and other); breast; vulva, vagina
# and cervix; penis; testis; thyroid.
VISUAL_SITES = icd_ranges("C00-C14, C20-C21, C43-C44, C50, C51-C53, C60, C62, C73")
STAGE_NEGLECTED = 4          # neglected at any site
STAGE_NEGLECTED_VISUAL = 3   # …and at a visual site from this stage


def is_visual(icd10: str) -> bool:
    """Whether an ICD-10 code is a visual cancer site."""
    return in_ranges(icd10, VISUAL_SITES)


def is_neglected(icd10: str, stage: int | None) -> bool:
    """Whether a malignant case diagnosed at this stage is neglected (stage IV; stage III at a visual site)."""
    if stage is None or not in_ranges(icd10, MALIGNANT):
        return False
    return stage >= STAGE_NEGLECTED or (stage >= STAGE_NEGLECTED_VISUAL and is_visual(icd10))


def codes_text(codes: dict[str, str]) -> str:
    """«code — name, …» for a column's documentation."""
    return ", ".join(f"{k} — {v[0].lower() + v[1:]}" for k, v in codes.items())


VISUAL_SITES_TEXT = ranges_text(VISUAL_SITES)
