"""A Nova service's own configuration and log: ``[nova_hookspec]`` in nova.conf.

A console script that starts the way Nova's services start (``nova.config.
parse_args``, then ``oslo_log.log.setup``) is run by ``nova-hookspec run``,
which attaches the hook points first; it then refreshes an instance's network
info cache through Nova's real ``update_instance_cache_with_nw_info``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import Site

UUID = "0d9c5b4e-6f1a-4c2b-8e3d-7a6b5c4d3e2f"

SERVICE = f"""
import sys

def main():
    import nova.conf
    from nova import config, objects
    from nova.network import neutron
    from oslo_log import log as logging

    config.parse_args(sys.argv, configure_db=False, init_rpc=False)
    logging.setup(nova.conf.CONF, "nova")
    objects.register_all()
    instance = objects.Instance(uuid="{UUID}", deleted=True)
    neutron.update_instance_cache_with_nw_info(object(), None, instance)
    return 0
"""

PLUGIN = """
import os
from nova_hookspec import hookimpl

@hookimpl
def instance_network_info_pre(instance):
    with open(os.environ["ACME_RECORD"], "a") as handle:
        handle.write("{name}\\n")
"""

FAILING = """
from nova_hookspec import hookimpl

@hookimpl
def instance_network_info_post(instance):
    raise RuntimeError("dns.example.org unreachable")
"""


def install(site: Site) -> None:
    site.add_dist("acme-service", {"console_scripts": ["acme-service = acme_service:main"]},
                  {"acme_service": SERVICE})
    for name in ("a", "b", "c"):
        site.add_dist(f"acme-{name}", {"nova_hookspec": [f"{name} = acme_{name}"]},
                      {f"acme_{name}": PLUGIN.format(name=name)})
    site.add_dist("acme-fail", {"nova_hookspec": ["fail = acme_fail"]}, {"acme_fail": FAILING})


def run_service(site: Site, tmp_path: Path, section: str, env: dict[str, str] | None = None,
                ) -> tuple[list[str], str]:
    log_file = tmp_path / "nova.log"
    record = tmp_path / "record.txt"
    conf = tmp_path / "nova.conf"
    conf.write_text(f"[DEFAULT]\nlog_file = {log_file}\ndebug = false\n\n{section}")
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path]),
               "ACME_RECORD": str(record), **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "nova_hookspec", "run", "--", "acme-service", "--config-file",
         str(conf)], capture_output=True, text=True, env=environ, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    ran = record.read_text().split() if record.exists() else []
    return ran, log_file.read_text()


def summary(log: str) -> str:
    [line] = [line for line in log.splitlines() if "nova_hookspec: hook points attached" in line]
    return line


def test_order_and_disable_from_nova_conf_reach_the_service_log(
    site: Site, tmp_path: Path
) -> None:
    install(site)
    ran, log = run_service(site, tmp_path,
                           "[nova_hookspec]\norder = acme-c, acme-a\ndisable = acme-b\n")
    assert ran == ["c", "a"]
    line = summary(log)
    assert " INFO nova_hookspec " in line
    assert ("instance_network_info_pre: acme-c:acme_c, acme-a:acme_a" in line)
    assert f"disable [nova_hookspec] in {tmp_path / 'nova.conf'}" in line
    assert f"order [nova_hookspec] in {tmp_path / 'nova.conf'}" in line
    [failure] = [x for x in log.splitlines() if "plugin 'acme-fail:acme_fail' failed" in x]
    assert f"[instance: {UUID}]" in failure
    assert " WARNING nova_hookspec " in failure


def test_the_same_through_environment_variables(site: Site, tmp_path: Path) -> None:
    install(site)
    ran, log = run_service(site, tmp_path, "", env={
        "NOVA_HOOKSPEC_ORDER": "acme-c,acme-a", "NOVA_HOOKSPEC_DISABLE": "acme-b"})
    assert ran == ["c", "a"]
    assert "configuration: NOVA_HOOKSPEC_DISABLE, NOVA_HOOKSPEC_ORDER" in summary(log)


def test_a_typo_in_nova_conf_is_warned_about_in_the_service_log(
    site: Site, tmp_path: Path
) -> None:
    install(site)
    ran, log = run_service(site, tmp_path, "[nova_hookspec]\norder = acme-c, acme-aa\n")
    assert sorted(ran) == ["a", "b", "c"]  # a name that matches nothing orders nothing
    assert any("names 'acme-aa', which matches no installed plugin; did you mean 'acme-a'?"
               in line and " WARNING nova_hookspec " in line for line in log.splitlines())
