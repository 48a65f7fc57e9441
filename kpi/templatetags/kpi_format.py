"""Number formats of the dashboard, in the active language's conventions (``{% load kpi_format %}``).

Rates arrive as fractions (0.243) and are shown as percentages ("24,3 %" in Russian); ``None``
(nothing to divide by) is shown as a dash.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from django import template
from django.utils.formats import get_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kpi.dashboard_selectors import short_name as _short_name

register = template.Library()

NBSP = "\u00a0"
MINUS = "\u2212"
DASH = "—"


@functools.cache
def _separators(language: str) -> tuple[str, str]:
    return get_format("DECIMAL_SEPARATOR", language), get_format("THOUSAND_SEPARATOR", language)


def _number(value, digits: int) -> str:
    """``value`` rounded to ``digits`` places, grouped by thousands in the active language's
    separators ("1 414 000,5" in Russian). The same text as Django's ``number_format`` with
    grouping forced, for the languages here (groups of three), at a fraction of its cost: the
    dashboard formats some 500 numbers a page."""
    decimal, thousands = _separators(get_language())
    text = f"{round(value, digits):,.{digits}f}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.243 → "24.3 %"."""
    if value is None or value == "":
        return DASH
    return f"{_number(100 * float(value), int(digits))}{NBSP}%"


@register.filter
def count(value) -> str:
    """1500 → "1 500"."""
    if value is None or value == "":
        return DASH
    return _number(int(value), 0)


@register.filter
def money(value) -> str:
    """Roubles without kopecks: 1414000.00 → "1 414 000 ₽"."""
    if value is None or value == "":
        return DASH
    return f"{_number(Decimal(value), 0)}{NBSP}₽"


def _signed(text: str, value) -> str:
    if value > 0:
        return f"+{text}"
    if value < 0:
        return f"{MINUS}{text}"
    return text


@register.filter
def signed(value) -> str:
    """A change in count: +5, −3, 0."""
    if value is None:
        return DASH
    return _signed(_number(abs(int(value)), 0), value)


@register.filter
def points(value) -> str:
    """A change of a rate, in percentage points: 0.012 → "+1.2 pp"."""
    if value is None:
        return DASH
    shown = round(100 * float(value), 1)
    # Translators: short for "percentage points", after a change of a rate: "+1.2 pp".
    unit = _("pp")
    return f"{_signed(_number(abs(shown), 1), shown)}{NBSP}{unit}"


@register.filter
def signed_percent(value) -> str:
    """A growth: 0.3 → "+30 %"."""
    if value is None:
        return DASH
    shown = round(100 * float(value))
    return f"{_signed(_number(abs(shown), 0), shown)}{NBSP}%"


@register.filter
def bar_width(value) -> str:
    """A share as a CSS width, capped at 100 %: 0.82 → "82%"."""
    if value is None:
        return "0%"
    return f"{min(100, max(0, round(100 * float(value))))}%"


@register.filter
def short_name(full_name: str) -> str:
    """A surname with initials: "Соколов Евгений Владимирович" → "Соколов Е. В."."""
    return _short_name(full_name or "")
