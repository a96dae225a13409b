"""The plugins the README shows, installed as the README says, behave as it says.

Run on every row of the test matrix (pluggy 0.13.1 to the newest), the same
expected output makes them behave identically on all of them.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import Site

from nova_hookspec import add_hook

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def readme_module(name: str) -> str:
    """The README's Python block that starts with ``# NAME.py``."""
    [source] = re.findall(rf"```python\n# {name}\.py\n(.*?)```", README, flags=re.DOTALL)
    return source


def readme_entry_point(group: str) -> str:
    header = f'[project.entry-points.{group}]' if "." not in group else \
        f'[project.entry-points."{group}"]'
    name, value = README.split(header, 1)[1].strip().splitlines()[0].split("=")
    return f"{name.strip()} = {value.strip().strip(chr(34))}"  # TOML -> entry_points.txt


@add_hook("create_instance")
def create(self, context, flavor, image_href, display_name=None, metadata=None):
    print("nova: metadata", sorted(metadata.items()))
    return [SimpleNamespace(uuid="uuid-1", hostname=display_name)], "r-1"


@add_hook("delete_instance")
def delete(self, context, instance, bdms):
    print("nova: deleted", instance.uuid)


def test_readme_plugins_as_written(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add_dist("acme-inventory", {"nova_hookspec": [readme_entry_point("nova_hookspec")]},
                  {"acme_inventory": readme_module("acme_inventory")})
    site.add_dist("acme-hooks", {"nova.hooks": [readme_entry_point("nova.hooks")]},
                  {"acme_hooks": readme_module("acme_hooks")})
    context = SimpleNamespace(project_id="p-1")
    metadata: dict[str, str] = {}
    instances, reservation = create("api", context, "m1.small", "img", display_name="web-1",
                                    metadata=metadata)
    delete("compute", context, instances[0], [])
    assert reservation == "r-1"
    assert metadata == {"managed-by": "acme"}
    assert capsys.readouterr().out.splitlines() == [
        "ldap: reserving web-1",                          # legacy pre, tryfirst
        "nova: metadata [('managed-by', 'acme')]",        # the wrapper's change reached Nova
        "created 1 instance(s) in r-1",                   # the wrapper after the call
        "ldap: registered ['uuid-1']",                    # legacy post, tryfirst
        "register uuid-1 web-1 p-1",                      # typed post observer
        "deregister uuid-1",                              # typed pre observer of delete
        "nova: deleted uuid-1",
    ]
