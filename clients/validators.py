"""Validation of Russian tax identifiers (ИНН, КПП)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_KPP_RE = re.compile(r"^\d{4}[\dA-Z]{2}\d{3}$")
_INN_SEPARATORS_RE = re.compile(r"[\s\-.]+")


def _check_digit(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def normalise_inn(inn: str) -> str:
    """``inn`` without the spaces, dashes and dots people type between its digits; anything else
    stays for the validator to refuse."""
    return _INN_SEPARATORS_RE.sub("", inn)


def inn_is_valid(inn: str) -> bool:
    """True when ``inn`` is a 10-digit (organisation) or 12-digit (entrepreneur) INN whose
    check digits match (the Federal Tax Service algorithm)."""
    if not inn.isdigit() or not inn.isascii():
        return False
    if len(inn) == 10:
        return _check_digit(inn[:9], _INN10_WEIGHTS) == int(inn[9])
    if len(inn) == 12:
        return _check_digit(inn[:10], _INN12_WEIGHTS_11) == int(inn[10]) and _check_digit(
            inn[:11], _INN12_WEIGHTS_12
        ) == int(inn[11])
    return False


def inn_with_check_digits(prefix: str) -> str:
    """Complete a 9-digit (or 10-digit) prefix into a valid 10-digit (or 12-digit) INN."""
    if len(prefix) == 9:
        return prefix + str(_check_digit(prefix, _INN10_WEIGHTS))
    if len(prefix) == 10:
        eleven = prefix + str(_check_digit(prefix, _INN12_WEIGHTS_11))
        return eleven + str(_check_digit(eleven, _INN12_WEIGHTS_12))
    raise ValueError("an INN prefix has 9 or 10 digits")


def validate_inn(value: str) -> None:
    if not value.isdigit() or len(value) not in (10, 12):
        raise ValidationError(
            _("INN must be 10 digits (organisation) or 12 digits (entrepreneur)."),
            code="inn_length",
        )
    if not inn_is_valid(value):
        raise ValidationError(_("INN check digits do not match: check the number."), code="inn")


def validate_kpp(value: str) -> None:
    if not _KPP_RE.match(value):
        raise ValidationError(
            _("KPP must be 9 characters: 4 digits, 2 digits or letters, 3 digits."), code="kpp"
        )
