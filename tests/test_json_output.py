"""``list --json`` and ``check --json``: the version, and the documented schemas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import Site

import nova_hookspec

SCHEMAS = Path(nova_hookspec.__file__).parent / "schemas"
DOCS = Path(__file__).resolve().parent.parent / "docs"


def cli(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path])}
    return subprocess.run([sys.executable, "-m", "nova_hookspec", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


@pytest.fixture
def installed(site: Site) -> Site:
    site.add_dist("acme-good", {"nova_hookspec": ["good = acme_good"]}, {"acme_good": (
        "from nova_hookspec import hookimpl\n\n@hookimpl\ndef delete_instance_pre(instance):\n"
        "    pass\n")})
    site.add_dist("acme-legacy", {"nova.hooks": ["resize_hook = acme_legacy:Hook"]},
                  {"acme_legacy": "class Hook:\n    def pre(self, *a, **k):\n        pass\n"})
    site.add_dist("acme-broken", {"nova_hookspec": ["broken = acme_broken"]},
                  {"acme_broken": "raise ImportError('gone')\n"})
    return site


def schema(name: str) -> dict[str, object]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())  # type: ignore[no-any-return]


def test_version_everywhere() -> None:
    done = subprocess.run([sys.executable, "-m", "nova_hookspec", "--version"],
                          capture_output=True, text=True, check=False)
    assert done.stdout.strip() == f"nova-hookspec {nova_hookspec.__version__}"


def test_list_json_validates_and_carries_the_version(installed: Site) -> None:
    done = cli(installed, "list", "--json")
    assert done.returncode == 1  # acme-broken
    document = json.loads(done.stdout)
    jsonschema.validate(document, schema("list"))
    assert document["version"] == nova_hookspec.__version__
    hooks = {h["hook"]: h for h in document["hooks"]}
    assert [s["plugin"] for s in hooks["resize_hook_pre"]["order"]] == [
        "acme-legacy:acme_legacy:Hook[resize_hook]"]


@pytest.mark.parametrize("smoke", [False, True])
def test_check_json_validates_and_says_everything(installed: Site, smoke: bool) -> None:
    done = cli(installed, "check", "--json", *(["--smoke"] if smoke else []))
    document = json.loads(done.stdout)
    jsonschema.validate(document, schema("check"))
    assert done.returncode == document["status"] == 1
    assert document["version"] == nova_hookspec.__version__
    states = {p["plugin"]: p["state"] for p in document["plugins"]}
    assert states == {"acme-good:acme_good": "ok", "acme-broken:acme_broken": "broken",
                      "acme-legacy:acme_legacy:Hook[resize_hook]": "ok"}
    if smoke:
        assert {"plugin": "acme-good:acme_good", "hook": "delete_instance_pre",
                "outcome": "ok", "detail": ""} in document["smoke"]
    else:
        assert document["smoke"] is None


def test_a_document_breaking_the_schema_is_refused() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema": "nova-hookspec/check/1", "version": "1", "status": 2,
                             "plugins": [], "warnings": [], "smoke": None}, schema("check"))


def test_the_schemas_are_documented() -> None:
    page = (DOCS / "cli.md").read_text()
    assert "nova-hookspec/list/1" in page
    assert "nova-hookspec/check/1" in page
