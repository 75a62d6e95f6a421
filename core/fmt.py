"""Russian number and date formats: «12 345,6», «01.10.2026», «окт 2026»."""
from __future__ import annotations

import datetime as dt
import math

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

RU = Locale("ru")

NBSP = "\u00a0"
MONTHS = ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
          "ноябрь", "декабрь"]
MONTHS_GEN = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
              "ноября", "декабря"]
MONTHS_SHORT = ["янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"]


def number(x, decimals: int = 0, sign: bool = False) -> str:
    """12345.6 → «12 345,6» (CLDR grouping with a no-break space, decimal comma); None → «—».

    The sign follows the number as shown: a value that rounds to zero is «0,0», never «−0,0» or «+0,0».
    """
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "—"
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    text = format_decimal(abs(x), format=pattern, locale=RU, decimal_quantization=True).replace("\u202f", NBSP)
    if not text.strip("0,\u00a0"):
        return text
    if x < 0:
        return "−" + text
    return ("+" + text) if sign and x > 0 else text


def percent(x, decimals: int = 1, sign: bool = False) -> str:
    return "—" if x is None else number(x, decimals, sign) + NBSP + "%"


def date(d: dt.date | None) -> str:
    return "—" if d is None else f"{d:%d.%m.%Y}"


def datetime(d: dt.datetime | None) -> str:
    return "—" if d is None else f"{d:%d.%m.%Y %H:%M}"


def month_name(d: dt.date) -> str:
    """«октябрь 2026» (the standalone month name, CLDR)."""
    return format_date(d, "LLLL y", locale=RU)


def month_short(d: dt.date) -> str:
    return f"{MONTHS_SHORT[d.month - 1]} {d.year}"


def plural(n, one: str, few: str, many: str) -> str:
    """The Russian plural form for n by the CLDR rules (Babel): 1 организация, 2 организации, 5 организаций;
    a fraction takes the genitive singular: 1,5 организации."""
    return {"one": one, "few": few, "many": many}.get(RU.plural_form(abs(n)), few)
