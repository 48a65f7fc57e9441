"""INN and KPP validation (SPEC §2 clients, §10): known numbers, bad shapes, and the checksum math
checked by hypothesis against an independent implementation of the Federal Tax Service rule."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from clients.validators import inn_is_valid, inn_with_check_digits, validate_inn, validate_kpp

W10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
W11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
W12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def residues(inn: str) -> tuple[int, ...]:
    """The weighted sums mod 11 behind each check digit (before the final "mod 10")."""
    weights = (W10,) if len(inn) == 10 else (W11, W12)
    return tuple(sum(int(d) * w for d, w in zip(inn, ws, strict=False)) % 11 for ws in weights)


digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
prefix9 = st.text(alphabet="0123456789", min_size=9, max_size=9)
prefix10 = st.text(alphabet="0123456789", min_size=10, max_size=10)


@pytest.mark.parametrize(
    "inn",
    [
        "7707083893",  # Sberbank
        "7736050003",  # Gazprom
        "500100732259",  # an individual entrepreneur
        "1000000080",
    ],
)
def test_known_valid_inns_pass(inn):
    assert inn_is_valid(inn) is True
    validate_inn(inn)


@pytest.mark.parametrize(
    ("inn", "code"),
    [
        ("770708389", "inn_length"),  # 9 digits
        ("77070838931", "inn_length"),  # 11 digits
        ("7707083893000", "inn_length"),  # 13 digits
        ("", "inn_length"),
        ("77070838AB", "inn_length"),  # letters
        ("7707 08389", "inn_length"),  # a space inside
        ("7707083894", "inn"),  # wrong check digit
        ("500100732258", "inn"),  # wrong second check digit
        ("500100732269", "inn"),  # wrong first check digit
        ("٧٧٠٧٠٨٣٨٩٣", "inn"),  # Arabic-Indic digits: digits, but not ASCII ones
    ],
)
def test_bad_inns_are_refused_with_a_code(inn, code):
    assert inn_is_valid(inn) is False
    with pytest.raises(ValidationError) as exc:
        validate_inn(inn)
    assert exc.value.code == code


def test_inn_with_check_digits_completes_known_numbers():
    assert inn_with_check_digits("770708389") == "7707083893"
    assert inn_with_check_digits("5001007322") == "500100732259"


@pytest.mark.parametrize("prefix", ["", "12345678", "12345678901"])
def test_inn_with_check_digits_needs_9_or_10_digits(prefix):
    with pytest.raises(ValueError, match="9 or 10 digits"):
        inn_with_check_digits(prefix)


@given(prefix=st.one_of(prefix9, prefix10))
def test_completed_inn_is_always_valid(prefix):
    inn = inn_with_check_digits(prefix)
    assert inn.startswith(prefix)
    assert len(inn) == len(prefix) + (1 if len(prefix) == 9 else 2)
    assert inn_is_valid(inn) is True
    # The check digits are the residues mod 11, folded to one digit (10 → 0).
    assert [int(d) for d in inn[len(prefix) :]] == [r % 10 for r in residues(inn)]


@given(prefix=st.one_of(prefix9, prefix10), data=st.data())
def test_changing_one_digit_breaks_the_inn_unless_a_residue_folds_10_to_0(prefix, data):
    """Every weight is non-zero mod 11, so changing one digit always changes the residue of every
    checksum that covers it. The only way the INN stays valid is the "mod 10" fold: the residue
    moves between 0 and 10, which both give check digit 0."""
    inn = inn_with_check_digits(prefix)
    position = data.draw(st.integers(min_value=0, max_value=len(inn) - 1))
    new_digit = data.draw(digits.filter(lambda d: d != inn[position]))
    changed = inn[:position] + new_digit + inn[position + 1 :]

    before, after = residues(inn), residues(changed)
    covering = [
        i for i, ws in enumerate((W10,) if len(inn) == 10 else (W11, W12)) if position < len(ws)
    ]
    for i in covering:
        assert before[i] != after[i]

    if position >= len(prefix):
        # A check digit itself was changed: it no longer matches its own checksum.
        assert inn_is_valid(changed) is False
    elif inn_is_valid(changed):
        assert all({before[i], after[i]} == {0, 10} for i in covering)
    else:
        assert any({before[i], after[i]} != {0, 10} for i in covering)


def test_one_digit_change_can_keep_a_10_digit_inn_valid_through_the_fold():
    # 1000000080: residue 66 % 11 = 0; raising the third digit by 1 adds weight 10 → residue 10.
    assert residues("1000000080") == (0,)
    assert residues("1010000080") == (10,)
    assert inn_is_valid("1010000080") is True


@pytest.mark.parametrize("kpp", ["770701001", "7707AB001", "502401001"])
def test_valid_kpps_pass(kpp):
    validate_kpp(kpp)


@pytest.mark.parametrize(
    "kpp", ["77070100", "7707010011", "7707ab001", "77A701001", "770701A01", "", "7707-1001"]
)
def test_bad_kpps_are_refused(kpp):
    with pytest.raises(ValidationError) as exc:
        validate_kpp(kpp)
    assert exc.value.code == "kpp"
