"""``LongSelect`` renders the same select as Django's ``Select``, faster."""

from __future__ import annotations

import re

import pytest
from django import forms

from core.widgets import LongSelect

CHOICES = [("", "All"), (1, "Анна <A&B>"), (2, "Борис"), ("Группа", [(3, "Вера")])]


def _tags(html: str) -> list[str]:
    """The tags and texts, whitespace and attribute order aside."""
    tokens = re.findall(r"<[^>]+>|[^<>\s][^<>]*", html)
    return [
        " ".join(sorted(token.strip("<>").split(" "))) if token.startswith("<") else token.strip()
        for token in tokens
    ]


@pytest.mark.parametrize("value", [None, "2", "3"])
def test_long_select_renders_what_select_renders(value):
    attrs = {"id": "id_manager", "class": "filter"}
    expected = forms.Select(choices=CHOICES).render("manager", value, attrs)

    html = LongSelect(choices=CHOICES).render("manager", value, attrs)

    assert _tags(html) == _tags(expected)


def test_long_select_escapes_labels():
    html = LongSelect(choices=CHOICES).render("manager", "1", {})

    assert '<option value="1" selected>Анна &lt;A&amp;B&gt;</option>' in html
