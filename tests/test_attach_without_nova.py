"""attach_nova() and the launcher where no Nova is importable: clear reports, no crash."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys

import pytest
from conftest import Site

import nova_hookspec

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("nova") is not None, reason="this suite's venv has no Nova"
)


def test_missing_targets_are_reported_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    assert nova_hookspec.attach_nova() == {}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4
    assert any("nova.compute.api:API.create" in w and "No module named 'nova'" in w
               for w in warnings)
    with pytest.raises(nova_hookspec.AttachError, match="create_instance: cannot attach"):
        nova_hookspec.attach_nova(strict=True)
    assert nova_hookspec.detach_nova() == {}


def run(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path])}
    return subprocess.run([sys.executable, "-m", "nova_hookspec", "run", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_run_passes_arguments_and_exit_status(site: Site) -> None:
    site.add_dist("acme-tool", {"console_scripts": ["acme-tool = acme_tool:main"]}, {
        "acme_tool": "import sys\ndef main():\n    print(sys.argv)\n    return 7\n"})
    done = run(site, "--", "acme-tool", "-x", "--flag=1")
    assert done.returncode == 7, done.stderr
    assert "['acme-tool', '-x', '--flag=1']" in done.stdout


def test_run_module(site: Site) -> None:
    site.add_module("acme_pkg.__init__", "")
    site.add_module("acme_pkg.tool", "import sys\nprint(sys.argv[1:])\nsys.exit(4)\n")
    done = run(site, "-m", "acme_pkg.tool", "a", "b")
    assert done.returncode == 4, done.stderr
    assert "['a', 'b']" in done.stdout


def test_run_unknown_program(site: Site) -> None:
    done = run(site, "no-such-tool")
    assert done.returncode == 1
    assert "no console script named 'no-such-tool'" in done.stderr
