"""docs/cli.md and every subcommand's ``--help`` agree (in the manner of datasette's
docs tests): each subcommand has a section, each option of its ``--help`` is a row
of the section's table, and no row names an option the command does not take."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nova_hookspec._cli.main import _parser

PAGE = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()


def _nested(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands of ``parser`` by name (none when it has none)."""
    for action in parser._actions:
        if isinstance(action.choices, dict):
            return dict(action.choices)
    return {}


def _subcommands() -> list[str]:
    """Every subcommand, ``deferred``'s actions as ``deferred ACTION``."""
    found = []
    for name, sub in _nested(_parser()).items():
        inner = _nested(sub)
        found.extend([f"{name} {action}" for action in inner] if inner else [name])
    return found


def _help_options(command: str) -> set[str]:
    """The options ``nova-hookspec COMMAND --help`` lists (``--help`` aside)."""
    done = subprocess.run([sys.executable, "-m", "nova_hookspec", *command.split(), "--help"],
                          capture_output=True, text=True, timeout=120, check=True)
    options = set()
    for line in done.stdout.splitlines():
        found = re.match(r"^  (-[^ ].*?)(?:  |$)", line)
        if found:
            options.update(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", found.group(1)))
    return options - {"-h", "--help"}


def _section(command: str) -> str:
    found = re.search(rf"^## {re.escape(command)}\n(.*?)(?=^## |\Z)", PAGE,
                      flags=re.MULTILINE | re.DOTALL)
    assert found is not None, f"docs/cli.md has no section '## {command}'"
    return found.group(1)


def _documented(command: str) -> set[str]:
    """The options of the section's table rows (``| `--lanes N` | ... |``)."""
    return set(re.findall(r"^\| `(--?[a-zA-Z][\w-]*)", _section(command), flags=re.MULTILINE))


def test_the_subcommands_are_the_expected_ones() -> None:
    assert {"list", "check", "new", "demo", "run", "worker", "deferred status",
            "deferred list", "deferred retry", "deferred drop"} <= set(_subcommands())
    for name, sub in _nested(_parser()).items():  # the groups too (deferred --help)
        assert sub.description, f"{name} --help has no description"


@pytest.mark.parametrize("command", _subcommands())
def test_every_option_of_a_subcommand_is_documented_and_nothing_more(command: str) -> None:
    assert _documented(command) == _help_options(command)


@pytest.mark.parametrize("command", _subcommands())
def test_every_option_has_help_text(command: str) -> None:
    parser = _parser()
    for word in command.split():
        parser = _nested(parser)[word]
    assert parser.description, f"{command} --help has no description"
    for action in parser._actions:
        assert action.help, f"{command}: {action.option_strings or action.dest} has no help"


def test_the_overview_names_every_top_level_subcommand() -> None:
    overview = PAGE.split("\n## ", 1)[0]
    for command in {c.split()[0] for c in _subcommands()}:
        assert f"nova-hookspec {command}" in overview, command
