"""The CLI over the three example plugins, installed as a user installs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    import os

    return {**os.environ, "NOVA_HOOKSPEC_INVENTORY_DB": str(tmp_path / "inventory.sqlite3")}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nova_hookspec", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_demo_runs_the_example_plugins(env: dict[str, str]) -> None:
    done = cli(env, "demo")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "plugins: 5 examples built into the demo" in out
    assert "and 6 installed in this environment:" in out
    assert ("create_instance_pre          order: demo-policy, nova-hookspec-policy (typed), "
            "nova-hookspec-legacy-logger:CreateInstance (legacy)") in out
    assert ("create_instance_post         order: demo-inventory, "
            "nova-hookspec-legacy-logger:CreateInstance (legacy), "
            "nova-hookspec-inventory (typed)") in out
    assert "nova_hookspec_legacy_logger: [PRE] create_instance web-1" in out
    assert "nova_hookspec_legacy_logger: [POST] delete_instance web-1" in out
    assert "inventory: recorded 1 instance(s)" in out
    assert "time: " in out
    assert "refused before Nova ran" in out


def test_check_is_clean_and_list_names_all_four_points(env: dict[str, str]) -> None:
    checked = cli(env, "check")
    assert checked.returncode == 0, checked.stdout
    assert "6 plugin(s) ok, 0 broken, 0 blocked" in checked.stdout
    listed = json.loads(cli(env, "list", "--json").stdout)["hooks"]
    legacy_build = [s for e in listed if e["hook"] == "build_and_run_instance_pre"
                    for s in e["order"]]
    assert [s["plugin"] for s in legacy_build] == [
        "nova-hookspec-legacy-logger:nova_hookspec_legacy_logger:BuildInstance[build_instance]"
    ]
