"""The base of the project's management commands."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class TranslatedCommand(BaseCommand):
    """A command whose help texts may be lazy translations: argparse runs regular expressions
    over its texts, which need real strings, so they are translated when the parser is built (the
    language is known by then). Without it, ``--help`` crashes."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        self.help = str(self.help)
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        for action in parser._actions:
            if action.help is not None:
                action.help = str(action.help)
        return parser
