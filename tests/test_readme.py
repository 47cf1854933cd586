"""The README documents every setting and every command."""

from __future__ import annotations

import argparse
import re

from events_api.cli import build_parser
from events_api.core.settings import Settings
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def settings_table() -> str:
    start = README.index("### Settings")
    return README[start : README.index("\n### ", start + 1)]


def test_every_setting_is_in_the_settings_table() -> None:
    table = settings_table()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    missing = {name.upper() for name in Settings.model_fields} - documented
    assert not missing, f"settings missing from README's table: {sorted(missing)}"


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_command_is_in_the_commands_table() -> None:
    """Each command, and each `catalog` subcommand (api-user's are in Authentication)."""
    top = subcommands(build_parser())
    names = list(top) + [f"catalog {name}" for name in subcommands(top["catalog"])]
    for command in names:
        assert f"`events-api {command}" in README, f"events-api {command} is not documented"
