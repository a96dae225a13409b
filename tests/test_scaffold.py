"""``nova-hookspec new``: the plugin it writes passes its own tests right after pip install."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nova_hookspec._cli.scaffold import install_command, installed_from

ROOT = Path(__file__).resolve().parent.parent


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
    assert made.stdout.strip() == f"wrote {dist}; from .: {install_command(dist, installed_from())}"
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


def _venv(where: Path) -> Path:
    done = subprocess.run([sys.executable, "-m", "venv", str(where)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return where / "bin"


def test_before_a_release_on_the_index_a_new_plugin_installs_from_the_wheel(
        tmp_path: Path) -> None:
    """nova-hookspec is not on the package index yet: a plugin made by ``new`` from a
    wheel names that wheel in its install command, and the command works as written
    in a fresh virtualenv (issue 30 item 7)."""
    source = installed_from()
    if source is not None and source.endswith(".whl"):  # nox -s tests-wheel: that wheel
        wheel = Path(source)
    else:  # from the checkout: a wheel of it
        wheels = tmp_path / "wheels"
        built = run("-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT),
                    cwd=tmp_path)
        assert built.returncode == 0, built.stderr
        (wheel,) = wheels.glob("nova_hookspec-*.whl")
    maker = _venv(tmp_path / "maker")
    installed = subprocess.run([str(maker / "pip"), "install", "-q", str(wheel)],
                               capture_output=True, text=True, timeout=600, check=False)
    assert installed.returncode == 0, installed.stderr
    work = tmp_path / "work"
    work.mkdir()
    made = subprocess.run([str(maker / "nova-hookspec"), "new", "acme-dns"], cwd=work,
                          capture_output=True, text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stderr
    command = made.stdout.strip().split(": ", 1)[1]
    assert command == f"pip install '{wheel}[testing]' './acme-dns[test]' && pytest acme-dns"
    assert command in (work / "acme-dns" / "README.md").read_text()
    # The README's command, as written, in a virtualenv that has no nova-hookspec.
    fresh = _venv(tmp_path / "fresh")
    env = {**os.environ, "PATH": f"{fresh}{os.pathsep}{os.environ['PATH']}",
           "VIRTUAL_ENV": str(fresh.parent), "NOVA_HOOKSPEC_DISABLE": ""}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(["bash", "-c", command.replace("pytest ", "pytest -p no:cacheprovider ")],
                          cwd=work, env=env, capture_output=True, text=True, timeout=900,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout
    listed = subprocess.run([str(fresh / "pip"), "list", "--format=freeze"], capture_output=True,
                            text=True, timeout=120, check=False).stdout
    assert "nova-hookspec==" in listed.replace("nova_hookspec", "nova-hookspec")
    # The README's install into Nova's environment, as written, from the same folder: a
    # fresh virtualenv stands in for /opt/nova, a series' constraints file beside the plugin.
    readme = (work / "acme-dns" / "README.md").read_text()
    [block] = [block for block in re.findall(r"```sh\n(.*?)```", readme, flags=re.S)
               if "/opt/nova/" in block]
    assert "-c upper-constraints.txt" in block
    nova = _venv(tmp_path / "nova")
    shutil.copy(ROOT / "constraints" / "upper-constraints-2024.1.txt",
                work / "upper-constraints.txt")
    env["PATH"] = os.environ["PATH"]
    env.pop("VIRTUAL_ENV")
    done = subprocess.run(["bash", "-ec", block.replace("/opt/nova/bin", str(nova))], cwd=work,
                          env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ok    acme-dns:acme_dns" in done.stdout
    assert "smoke ok     acme-dns:acme_dns" in done.stdout
