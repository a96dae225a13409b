"""The suite passes with plugins installed beside it (the README's two commands
run one after the other in one ``.venv``): installed plugins are hidden."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sitehelper import Site

TESTS = Path(__file__).resolve().parent

#: Tests whose figures (discovery positions, the plugins check counts, what
#: nova.conf disables) an installed plugin used to change.
SENSITIVE = [
    "test_cli.py::test_list_human_form",
    "test_config_file.py::test_cli_reads_a_config_file",
    "test_json_output.py::test_check_json_validates_and_says_everything",
]


def test_suite_ignores_installed_plugins(tmp_path: Path) -> None:
    installed = Site(tmp_path / "installed")
    installed.add_dist("acme-installed", {
        "nova_hookspec": ["installed = acme_installed"],
        "nova.hooks": ["create_instance = acme_installed:Legacy",
                       "delete_instance = acme_installed:Legacy"],
    }, {"acme_installed": """
        from nova_hookspec import hookimpl

        @hookimpl(tryfirst=True)
        def delete_instance_pre(instance):
            raise RuntimeError("an installed plugin ran inside the test suite")

        class Legacy:
            def pre(self, *args, **kwargs):
                raise RuntimeError("an installed legacy class ran inside the test suite")
        """})
    env = {**os.environ, "PYTHONPATH": str(installed.root)}
    env.pop("HOOKSPEC_TESTS_HIDDEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SENSITIVE],
        cwd=TESTS, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
    # The installed plugin is still there for everything outside the suite.
    listed = subprocess.run([sys.executable, "-m", "nova_hookspec", "list"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert "acme-installed:acme_installed" in listed.stdout
