"""The README documents every setting and every command."""

from __future__ import annotations

import argparse
import re

import yaml

from events_api.cli import build_parser
from events_api.core.settings import Settings
from tests.fixtures.helpers import DEMO_CATALOG, ROOT

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


# -- the curl walk-through and the demo ----------------------------------------------------

DEMO = (ROOT / "scripts" / "demo").read_text(encoding="utf-8")


def walk_through() -> str:
    start = README.index("## A curl walk-through")
    return README[start : README.index("\n## ", start + 1)]


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def test_every_events_api_command_the_readme_runs_exists() -> None:
    parser = build_parser()
    commands = [
        line.split("#")[0].split("|")[0].strip()
        for block in bash_blocks(README)
        for line in block.replace("$(", "\n").splitlines()
        if line.split("#")[0].strip().startswith("events-api ")
    ]
    assert len(commands) >= 5
    for command in commands:
        words = [w for w in command.removesuffix("&").split() if not w.startswith("$")]
        args = parser.parse_args(words[1:])  # exits (fails the test) on an unknown command
        assert args.func.__name__ != "usage", command


def test_the_walk_through_uses_what_the_demo_made() -> None:
    text = walk_through()
    assert "./scripts/demo" in text
    token_file = re.search(r'TOKEN_FILE="\$DATA_DIR/([^"]+)"', DEMO)
    data_dir = re.search(r'DATA_DIR="\$\{EVENTS_API_DATA_DIR:-([^}]+)\}"', DEMO)
    assert token_file
    assert data_dir
    assert f"TOKEN=$(cat {data_dir[1]}/{token_file[1]})" in text
    assert "api-user create demo" in DEMO  # the user the walk-through logs in as
    port = re.search(r'PORT="\$\{PORT:-(\d+)\}"', DEMO)
    assert port
    assert f"B=http://127.0.0.1:{port[1]}/rest-api" in text
    # the demo's printed example and the walk-through's first event differ: no duplicate
    demo_ids = set(re.findall(r'"external_id": "([^"]+)"', DEMO))
    walk_ids = re.findall(r'"external_id": "([^"]+)"', text)
    assert walk_ids
    assert walk_ids[0] not in demo_ids
    # saying how to stop and reset the demo
    assert "Ctrl-C" in text
    assert f"rm -rf {data_dir[1]}" in text


def test_every_json_body_in_the_readme_is_sent_as_json() -> None:
    """curl -d sends a form unless told: only the 415 example may do that."""
    without = []
    for block in bash_blocks(README):
        for command in re.split(r"\n(?=\S)", block):
            if "curl" in command and " -d " in command and "application/json" not in command:
                without.append(command)
    assert len(without) == 1, without
    after = README[README.index(without[0]) :]
    assert "unsupported_media_type_exception" in after[: after.index("\n\n", 200)]


def test_the_demo_catalog_listing_matches_the_catalog_file() -> None:
    catalog = yaml.safe_load(DEMO_CATALOG.read_text(encoding="utf-8"))
    text = walk_through()
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("|")}
    groups = {g["text_id"]: g["name"] for g in catalog["event_groups"]}
    listed_types = [key for key in rows if re.search(r"\(`[0-9a-f]{26}`\)", key)]
    assert len(listed_types) == len(catalog["event_types"])
    for event_type in catalog["event_types"]:
        row = rows[f"{event_type['name']} (`{event_type['event_type_id']}`)"]
        group = event_type["event_group"]
        assert f"{groups[group]} (`{group}`)" in row
        assert re.findall(r"`([a-z_]+)`", row.split("|")[3]) == event_type["event_properties"]
    listed_properties = [key for key in rows if re.fullmatch(r"`[a-z_]+`", key)]
    assert len(listed_properties) == len(catalog["event_properties"])
    for prop in catalog["event_properties"]:
        cells = [cell.strip() for cell in rows[f"`{prop['property_id']}`"].split("|")[1:-1]]
        assert cells[1] == prop["name"]
        assert cells[2].split(":")[0] == prop["data_type"]
        for item in prop.get("items", []):
            assert f"`{item['id']}` {item['name']}" in cells[2]
