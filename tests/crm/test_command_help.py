"""Every management command of the project answers ``--help`` (its texts are translated)."""

from __future__ import annotations

import pytest
from django.core.management import call_command, get_commands
from django.utils import translation

OUR_APPS = {"core", "staff", "clients", "retention", "kpi", "team", "demo"}
COMMANDS = sorted(name for name, app in get_commands().items() if app in OUR_APPS)


def test_the_project_has_its_four_commands():
    assert COMMANDS == ["compute_kpis", "create_staff", "demo_logins", "seed_demo"]


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("command", COMMANDS)
def test_help_describes_the_command(command, language, capsys):
    with translation.override(language), pytest.raises(SystemExit) as exit_:
        call_command(command, "--help")

    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    assert f"{command} [-h]" in shown
    assert "--verbosity" in shown
