"""A typed plugin class named by an entry point (issue 30 item 8): made once per
process with no argument, as Nova makes its ``nova.hooks`` classes; a class that
needs arguments is refused in one line naming the plugin, the entry point and
what is wrong. Through real ``.dist-info`` distributions.
"""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import Site

import nova_hookspec
from nova_hookspec import add_hook

INVENTORY = """
import hooklog
from nova_hookspec import hookimpl

class Inventory:
    def __init__(self, zone="default"):
        self.zone = zone
        hooklog.EVENTS.append(("made", id(self)))

    @hookimpl
    def delete_instance_pre(self, instance):
        hooklog.EVENTS.append(("pre", id(self), self.zone, instance))
"""

NEEDS_ARGUMENTS = """
from nova_hookspec import hookimpl

class Inventory:
    def __init__(self, url, *, token):
        self.url = url

    @hookimpl
    def delete_instance_pre(self, instance):
        pass
"""

BROKEN_CONSTRUCTOR = """
from nova_hookspec import hookimpl

class Inventory:
    def __init__(self):
        raise OSError("no /etc/acme.conf")

    @hookimpl
    def delete_instance_pre(self, instance):
        pass
"""


class Manager:
    @add_hook("delete_instance")
    def _delete_instance(self, context, instance, bdms):
        return "deleted"


def _cli(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path])}
    return subprocess.run([sys.executable, "-m", "nova_hookspec", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_a_plugin_class_gets_one_instance_per_process_that_the_calls_reach(site: Site) -> None:
    site.add_dist("acme-inventory", {"nova_hookspec": ["inventory = acme_inventory:Inventory"]},
                  {"acme_inventory": INVENTORY})
    # A second distribution naming the same class: still one instance, registered once.
    site.add_dist("acme-again", {"nova_hookspec": ["again = acme_inventory:Inventory"]})
    manager = Manager()
    assert manager._delete_instance(None, "i-1", []) == "deleted"
    assert manager._delete_instance(None, "i-2", []) == "deleted"
    nova_hookspec.reset()  # discovery again in this process: the same instance
    assert manager._delete_instance(None, "i-3", []) == "deleted"
    [made] = [event for event in site.events if event[0] == "made"]
    assert site.events == [made, ("pre", made[1], "default", "i-1"),
                           ("pre", made[1], "default", "i-2"),
                           ("pre", made[1], "default", "i-3")]


def test_check_and_list_accept_a_plugin_class(site: Site) -> None:
    site.add_dist("acme-inventory", {"nova_hookspec": ["inventory = acme_inventory:Inventory"]},
                  {"acme_inventory": INVENTORY})
    checked = _cli(site, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    listed = _cli(site, "list")
    assert listed.returncode == 0, listed.stderr
    assert "acme-inventory:acme_inventory:Inventory" in listed.stdout


def test_a_class_whose_constructor_needs_arguments_is_refused_in_one_line(site: Site) -> None:
    site.add_dist("acme-inventory", {"nova_hookspec": ["inventory = acme_inventory:Inventory"]},
                  {"acme_inventory": NEEDS_ARGUMENTS})
    checked = _cli(site, "check")
    assert checked.returncode == 1
    [line] = [line for line in checked.stdout.splitlines() if "acme_inventory" in line]
    assert "acme-inventory:acme_inventory:Inventory" in line  # the plugin
    assert "entry point 'inventory = acme_inventory:Inventory'" in line
    assert "constructor needs 'url', 'token'" in line  # what is wrong
    assert "Traceback" not in checked.stdout + checked.stderr


def test_a_class_whose_constructor_fails_is_skipped_and_the_call_goes_on(site: Site) -> None:
    site.add_dist("acme-inventory", {"nova_hookspec": ["inventory = acme_inventory:Inventory"]},
                  {"acme_inventory": BROKEN_CONSTRUCTOR})
    assert Manager()._delete_instance(None, "i-1", []) == "deleted"
    [problem] = nova_hookspec.get_plugin_manager().discovery.problems
    assert problem.message.endswith("could not be instantiated: OSError: no /etc/acme.conf")
    checked = _cli(site, "check")
    assert checked.returncode == 1
    assert "could not be instantiated: OSError: no /etc/acme.conf" in checked.stdout
