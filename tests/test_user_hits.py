"""What users hit (round three): one test per item, through real distributions
and the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Site


def cli(site: Site, *args: str, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path]),
               **(env or {})}
    return subprocess.run([sys.executable, "-m", "nova_hookspec", *args], capture_output=True,
                          text=True, env=environ, timeout=120, check=False, cwd=cwd)


# 2. --json output stays JSON when a plugin prints.

NOISY = """
import os, sys
print("noisy: imported")
os.write(1, b"noisy: raw write at import\\n")
from nova_hookspec import hookimpl

@hookimpl
def create_instance_post(result):
    print("noisy: called")

class Legacy:
    def __init__(self):
        print("noisy: constructed")
    def post(self, rv, *args, **kwargs):
        print("noisy: legacy post")
"""


@pytest.mark.parametrize("command", [["list", "--json"], ["check", "--json"],
                                     ["check", "--json", "--smoke"]])
def test_json_output_is_json_when_plugins_print(site: Site, command: list[str]) -> None:
    site.add_dist("acme-noisy", {"nova_hookspec": ["noisy = acme_noisy"],
                                 "nova.hooks": ["create_instance = acme_noisy:Legacy"]},
                  {"acme_noisy": NOISY})
    done = cli(site, *command)
    document = json.loads(done.stdout)  # nothing but the document on standard output
    assert document["schema"].startswith("nova-hookspec/")
    assert "noisy: imported" in done.stderr
    assert "noisy: raw write at import" in done.stderr
    assert "noisy: constructed" in done.stderr
    if "--smoke" in command:
        assert "noisy: called" in done.stderr
        assert "noisy: legacy post" in done.stderr


# 3. A missing or broken configuration file is an error message, not a traceback.

@pytest.mark.parametrize(("option", "name", "expected"), [
    ("--config-file", "missing.conf", "configuration file(s) not found or unreadable"),
    ("--config-dir", "missing.d", "configuration folder not found or unreadable"),
    ("--config-file", "broken.conf", "Failed to parse"),
])
@pytest.mark.parametrize("command", ["check", "list", "demo"])
def test_missing_configuration_is_a_clear_error(
        site: Site, tmp_path: Path, command: str, option: str, name: str, expected: str) -> None:
    (tmp_path / "broken.conf").write_text("garbage\n")
    done = cli(site, command, option, str(tmp_path / name))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert f"nova-hookspec {command}: {expected}" in done.stderr
    assert name in done.stderr
