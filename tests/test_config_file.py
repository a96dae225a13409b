"""The ``[nova_hookspec]`` group of a Nova service's configuration files (oslo.config)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Site
from oslo_config import cfg  # in the test extra; Nova always has it

import nova_hookspec
from nova_hookspec import add_hook

ROOT = Path(__file__).resolve().parent.parent


@add_hook("delete_instance")
def delete(self, context, instance, bdms):
    return None


PLUGIN = """
import hooklog
from nova_hookspec import hookimpl

@hookimpl
def delete_instance_pre(instance):
    hooklog.EVENTS.append("{name}")
"""


def install(site: Site) -> None:
    for name in ("a", "b", "c"):
        site.add_dist(f"acme-{name}", {"nova_hookspec": [f"{name} = acme_{name}"]},
                      {f"acme_{name}": PLUGIN.format(name=name)})


@pytest.fixture
def service_config(tmp_path: Path) -> Iterator[Path]:
    """A nova.conf the way a Nova service parses it (oslo.config's global CONF)."""
    path = tmp_path / "nova.conf"
    path.write_text("[DEFAULT]\ndebug = false\n\n[nova_hookspec]\n"
                    "order = acme-c, acme-a\ndisable = acme-b\n")
    cfg.CONF(["--config-file", str(path)], project="nova", default_config_files=[],
             default_config_dirs=[])
    yield path
    cfg.CONF.clear()
    cfg.CONF.reset()


def test_order_and_disable_from_the_service_config(site: Site, service_config: Path) -> None:
    install(site)
    delete("mgr", "ctx", "i-1", [])
    assert site.events == ["c", "a"]
    sources = nova_hookspec.get_plugin_manager().controls.sources
    assert sources["order"] == f"order [nova_hookspec] in {service_config}"


def test_environment_wins_over_the_config_file(
    site: Site, service_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(site)
    monkeypatch.setenv("NOVA_HOOKSPEC_ORDER", "acme-a,acme-c")
    delete("mgr", "ctx", "i-1", [])
    assert site.events == ["a", "c"]  # order from the environment, disable from the file


def test_api_wins_over_both(site: Site, service_config: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    install(site)
    monkeypatch.setenv("NOVA_HOOKSPEC_ORDER", "acme-a,acme-c")
    nova_hookspec.configure(order=["acme-b", "acme-c", "acme-a"], disable=[])
    try:
        delete("mgr", "ctx", "i-1", [])
    finally:
        nova_hookspec.configure()
    assert site.events == ["b", "c", "a"]


def test_a_typo_in_the_file_is_warned_about_with_the_nearest_name(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install(site)
    path = tmp_path / "nova.conf"
    path.write_text("[nova_hookspec]\norder = acme-c, acme-aa\n")
    cfg.CONF(["--config-file", str(path)], project="nova", default_config_files=[],
             default_config_dirs=[])
    try:
        delete("mgr", "ctx", "i-1", [])
    finally:
        cfg.CONF.clear()
        cfg.CONF.reset()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (f"order [nova_hookspec] in {path} names 'acme-aa', which matches no installed "
            "plugin; did you mean 'acme-a'?") in warnings


def test_cli_reads_a_config_file(site: Site, tmp_path: Path) -> None:
    install(site)
    path = tmp_path / "nova.conf"
    path.write_text("[nova_hookspec]\norder = acme-c, acme-a\ndisable = acme-b\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-m", "nova_hookspec", "list", "--json", "--config-file", str(path)],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    [entry] = [e for e in json.loads(done.stdout)["hooks"] if e["hook"] == "delete_instance_pre"]
    assert [(s["distribution"], s["rule"]) for s in entry["order"]] == [
        ("acme-c", "operator order"), ("acme-a", "operator order")]


def test_sample_config_in_the_docs_is_the_generators_output(tmp_path: Path) -> None:
    # oslo-config-generator's own code, in process: its main() looks up its own
    # version in a way Python 3.8's importlib.metadata cannot answer.
    from oslo_config import generator

    output = tmp_path / "sample.conf"
    conf = cfg.ConfigOpts()
    generator.register_cli_opts(conf)
    conf(["--namespace", "nova_hookspec", "--output-file", str(output)])
    generator.generate(conf)
    sample = (ROOT / "docs" / "nova_hookspec.conf.sample").read_text()
    assert output.read_text() == sample
    assert "nova_hookspec.conf.sample" in (ROOT / "docs" / "operators.md").read_text()
