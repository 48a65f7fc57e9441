"""The translation catalogues: Russian is complete, and the compiled files match the sources."""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LOCALE = Path(settings.BASE_DIR) / "locale"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{(\w*)\}")
# msgfmt drops this header line (it only records when makemessages last ran).
POT_DATE = re.compile(r"^POT-Creation-Date:.*\n", re.M)


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return f"{self.msgctxt}\x04{self.msgid}" if self.msgctxt is not None else self.msgid

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values())


def read_po(path: Path) -> list[Entry]:
    """The live (non-obsolete) entries of a .po file, header included."""
    entries: list[Entry] = []
    entry, target = Entry(), None

    def close():
        nonlocal entry, target
        if target is not None:
            entries.append(entry)
        entry, target = Entry(), None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#~"):
            if not line:
                close()
            continue
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            text = ast.literal_eval(line)
        else:
            keyword, _, quoted = line.partition(" ")
            text = ast.literal_eval(quoted)
            if keyword == "msgctxt" or (keyword == "msgid" and target not in (None, "msgctxt")):
                close()
            target = keyword
            if target.startswith("msgstr"):
                index = int(target[7:-1]) if "[" in target else 0
                entry.msgstr[index] = ""
        if target in ("msgid", "msgid_plural", "msgctxt"):
            setattr(entry, target, (getattr(entry, target) or "") + text)
        elif target is not None:
            index = int(target[7:-1]) if "[" in target else 0
            entry.msgstr[index] += text
    close()
    return entries


def expected_catalog(entries: list[Entry]) -> dict:
    """What msgfmt puts in the .mo: every translated, non-fuzzy entry, keyed as gettext reads it."""
    catalog: dict = {}
    for entry in entries:
        if not entry.translated or ("fuzzy" in entry.flags and entry.msgid):
            continue
        if not entry.msgid:
            catalog[""] = POT_DATE.sub("", entry.msgstr[0])
        elif entry.msgid_plural is None:
            catalog[entry.key] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                catalog[(entry.key, index)] = text
    return catalog


def test_russian_catalogue_has_no_untranslated_or_fuzzy_entry():
    entries = read_po(LOCALE / "ru" / "LC_MESSAGES" / "django.po")
    messages = [entry for entry in entries if entry.msgid]

    assert len(messages) > 100
    assert [e.msgid for e in messages if not e.translated] == []
    assert [e.msgid for e in entries if "fuzzy" in e.flags] == []
    assert [e.msgid for e in messages if e.msgid_plural and len(e.msgstr) != 4] == []


def test_russian_translations_keep_every_placeholder():
    entries = read_po(LOCALE / "ru" / "LC_MESSAGES" / "django.po")

    broken = []
    for entry in entries:
        if not entry.msgid:
            continue
        wanted = set(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        for text in entry.msgstr.values():
            if set(PLACEHOLDER.findall(text)) != wanted:
                broken.append(entry.msgid)
    assert broken == []


@pytest.mark.parametrize("language", ["ru", "en"])
def test_compiled_catalogue_matches_its_source(language):
    folder = LOCALE / language / "LC_MESSAGES"
    expected = expected_catalog(read_po(folder / "django.po"))

    with (folder / "django.mo").open("rb") as compiled:
        actual = dict(gettext.GNUTranslations(compiled)._catalog)
    actual[""] = POT_DATE.sub("", actual.get("", ""))

    assert actual == expected


def test_russian_is_used_for_the_interface():
    with translation.override("ru"):
        assert translation.gettext("Clients") == "Клиенты"
        assert translation.ngettext("%(counter)s client", "%(counter)s clients", 3) == (
            "%(counter)s клиента"
        )
        assert translation.ngettext("%(counter)s client", "%(counter)s clients", 25) == (
            "%(counter)s клиентов"
        )
