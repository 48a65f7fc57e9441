"""The dashboard's number formats read like Django's own localized numbers, in both languages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.formats import number_format
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.templatetags.kpi_format import count, money, percent, signed


@pytest.mark.parametrize("language", ["ru", "en"])
@settings(deadline=None, derandomize=True)
@given(
    value=st.one_of(
        st.integers(min_value=-(10**12), max_value=10**12),
        st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
        st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False),
    ),
    digits=st.integers(min_value=0, max_value=2),
)
def test_numbers_match_djangos_grouped_format(language, value, digits):
    from kpi.templatetags.kpi_format import _number

    with translation.override(language):
        expected = number_format(round(value, digits), digits, force_grouping=True)
        assert _number(value, digits) == expected


def test_the_filters_read_naturally_in_russian_and_english():
    with translation.override("ru"):
        assert count(1500) == "1\xa0500"
        assert percent(0.2437) == "24,4\xa0%"
        assert money(Decimal("1414000.00")) == "1\xa0414\xa0000\xa0₽"
        assert signed(-3) == "\u22123"
    with translation.override("en"):
        assert count(1500) == "1,500"
        assert percent(0.2437) == "24.4\xa0%"
