"""attach_nova() first thing in a process, before Nova is imported (item 23):
nothing of Nova's is imported ahead of Nova, and each hook point is attached
when Nova imports its module. A stand-in ``nova`` package with the four
targets records the order its modules are imported in."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import Site

FAKE_NOVA = {
    "nova": "ORDER = []\n",
    "nova.compute": "import nova\nnova.ORDER.append(__name__)\n",
    "nova.compute.api": """
import nova
nova.ORDER.append(__name__)

class API:
    def create(self, context, flavor, image_href, **kwargs):
        return ["instance"], "r-1"
""",
    "nova.compute.manager": """
import nova
nova.ORDER.append(__name__)

class ComputeManager:
    def _do_build_and_run_instance(self, context, instance, image, request_spec,
                                   filter_properties, admin_password, injected_files,
                                   requested_networks, security_groups,
                                   block_device_mapping, node=None, limits=None,
                                   host_list=None, accel_uuids=None):
        return "built"

    def _delete_instance(self, context, instance, bdms):
        return "deleted"
""",
    "nova.network": "import nova\nnova.ORDER.append(__name__)\n",
    "nova.network.neutron": """
import nova
nova.ORDER.append(__name__)

def update_instance_cache_with_nw_info(impl, context, instance, nw_info=None):
    return None
""",
}

PLUGIN = """
import hooklog
from nova_hookspec import hookimpl

@hookimpl
def delete_instance_pre(instance):
    hooklog.EVENTS.append(("delete", instance))

@hookimpl
def create_instance_post(result):
    hooklog.EVENTS.append(("create", result[1]))
"""

SCRIPT = """
import json, sys
{attach_first}
imported_early = [m for m in ("nova", "nova.compute.api", "nova.compute.manager",
                              "nova.network.neutron", "oslo_log.log") if m in sys.modules]
import nova_hookspec
pending = sorted(nova_hookspec._nova.attach.pending())
import nova.network.neutron
import nova.compute.manager
import nova.compute.api
{attach_after}
import hooklog
import nova
from nova.compute.api import API
from nova.compute.manager import ComputeManager
API().create("ctx", "m1", "img")
ComputeManager()._delete_instance("ctx", "i-1", [])
print(json.dumps({{"early": imported_early, "pending": pending, "order": nova.ORDER,
                  "attached": sorted(nova_hookspec._nova.attach.attached()),
                  "events": hooklog.EVENTS}}))
"""


def run(site: Site, first: bool) -> dict[str, object]:
    for name, source in FAKE_NOVA.items():
        path = site.root.joinpath(*name.split("."))
        if name in ("nova", "nova.compute", "nova.network"):
            path.mkdir(parents=True, exist_ok=True)
            (path / "__init__.py").write_text(source)
        else:
            path.with_suffix(".py").write_text(source)
    site.add_dist("acme-hooks", {"nova_hookspec": ["p = acme_hooks"]}, {"acme_hooks": PLUGIN})
    attach = "import nova_hookspec; nova_hookspec.attach_nova(strict=True)"
    script = SCRIPT.format(attach_first=attach if first else "",
                           attach_after="" if first else attach)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("first", [True, False], ids=["attach-first", "attach-after"])
def test_attach_first_imports_nothing_of_nova_and_attaches_on_import(
        site: Site, first: bool) -> None:
    result = run(site, first)
    assert result["early"] == []  # nothing of Nova's (nor oslo.log) imported ahead of Nova
    assert result["order"] == ["nova.network", "nova.network.neutron", "nova.compute",
                               "nova.compute.manager", "nova.compute.api"]  # Nova's own order
    assert result["attached"] == ["build_and_run_instance", "create_instance",
                                  "delete_instance", "instance_network_info"]
    assert result["events"] == [["create", "r-1"], ["delete", "i-1"]]
    assert result["pending"] == (["build_and_run_instance", "create_instance",
                                  "delete_instance", "instance_network_info"] if first else [])
