"""``nova-hookspec new``: the plugin it writes passes its own tests right after pip install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600, check=False)


@pytest.mark.parametrize(("options", "dist", "module", "kind"), [
    ((), "acme-audit", "acme_audit", "typed"),
    (("--legacy",), "acme-ldap", "acme_ldap", "legacy"),
])
def test_a_new_plugin_passes_its_own_tests_after_pip_install(
    tmp_path: Path, options: tuple[str, ...], dist: str, module: str, kind: str
) -> None:
    made = run("-m", "nova_hookspec", "new", dist.replace("-", "_").upper(), *options,
               cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == (
        f"wrote {dist}; from .: pip install './{dist}[test]' && pytest {dist}")
    target = tmp_path / "site"
    # pip install ./NAME (into a folder of its own: this environment stays as it is)
    installed = run("-m", "pip", "install", "--no-deps", "--target", str(target), f"./{dist}",
                    cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    env = {"PYTHONPATH": os.pathsep.join([str(target), *sys.path]),
           "NOVA_HOOKSPEC_DISABLE": ""}
    tested = run("-m", "pytest", "-p", "no:cacheprovider", dist, cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert " passed" in tested.stdout
    checked = run("-m", "nova_hookspec", "check", "--smoke", cwd=tmp_path, env={
        **env, "NOVA_HOOKSPEC_PLUGINS": dist})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"ok    {dist}:{module}" in checked.stdout
    assert ("legacy" if kind == "legacy" else "typed") in checked.stdout


def test_new_refuses_an_existing_folder(tmp_path: Path) -> None:
    (tmp_path / "acme-audit").mkdir()
    made = run("-m", "nova_hookspec", "new", "acme-audit", cwd=tmp_path)
    assert made.returncode == 1
    assert "exists already" in made.stderr
