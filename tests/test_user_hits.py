"""What users hit (round three): one test per item, through real distributions
and the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import Site


def cli(site: Site, *args: str, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site.root), *sys.path]),
               **(env or {})}
    return subprocess.run([sys.executable, "-m", "nova_hookspec", *args], capture_output=True,
                          text=True, env=environ, timeout=120, check=False, cwd=cwd)


# 2. --json output stays JSON when a plugin prints.

NOISY = """
import os, sys
print("noisy: imported")
os.write(1, b"noisy: raw write at import\\n")
from nova_hookspec import hookimpl

@hookimpl
def create_instance_post(result):
    print("noisy: called")

class Legacy:
    def __init__(self):
        print("noisy: constructed")
    def post(self, rv, *args, **kwargs):
        print("noisy: legacy post")
"""


@pytest.mark.parametrize("command", [["list", "--json"], ["check", "--json"],
                                     ["check", "--json", "--smoke"]])
def test_json_output_is_json_when_plugins_print(site: Site, command: list[str]) -> None:
    site.add_dist("acme-noisy", {"nova_hookspec": ["noisy = acme_noisy"],
                                 "nova.hooks": ["create_instance = acme_noisy:Legacy"]},
                  {"acme_noisy": NOISY})
    done = cli(site, *command)
    document = json.loads(done.stdout)  # nothing but the document on standard output
    assert document["schema"].startswith("nova-hookspec/")
    assert "noisy: imported" in done.stderr
    assert "noisy: raw write at import" in done.stderr
    assert "noisy: constructed" in done.stderr
    if "--smoke" in command:
        assert "noisy: called" in done.stderr
        assert "noisy: legacy post" in done.stderr


# 3. A missing or broken configuration file is an error message, not a traceback.

@pytest.mark.parametrize(("option", "name", "expected"), [
    ("--config-file", "missing.conf", "configuration file(s) not found or unreadable"),
    ("--config-dir", "missing.d", "configuration folder not found or unreadable"),
    ("--config-file", "broken.conf", "Failed to parse"),
])
@pytest.mark.parametrize("command", ["check", "list", "demo"])
def test_missing_configuration_is_a_clear_error(
        site: Site, tmp_path: Path, command: str, option: str, name: str, expected: str) -> None:
    (tmp_path / "broken.conf").write_text("garbage\n")
    done = cli(site, command, option, str(tmp_path / name))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert f"nova-hookspec {command}: {expected}" in done.stderr
    assert name in done.stderr


# 4. Operator mistakes are reported by check, which exits non-zero.

TYPED = """
from nova_hookspec import hookimpl
import hooklog

@hookimpl
def delete_instance_pre(instance):
    hooklog.EVENTS.append(({name!r}, instance))
"""


def two_plugins(site: Site) -> None:
    for name in ("acme-a", "acme-b"):
        module = name.replace("-", "_")
        site.add_dist(name, {"nova_hookspec": [f"p = {module}"]},
                      {module: TYPED.format(name=name)})


@pytest.mark.parametrize(("conf", "env", "expected"), [
    ("[nova_hookspec]\nordr = acme-b, acme-a\n", {},
     "unknown option 'ordr' in [nova_hookspec] of {path}; did you mean 'order'?"),
    ("[nova_hookspec]\ndisabel = acme-a\n", {},
     "unknown option 'disabel' in [nova_hookspec] of {path}; did you mean 'disable'?"),
    ("[DEFAULT]\ndebug = true\n[nova-hookspec]\norder = acme-b\n", {},
     "section [nova-hookspec] in {path} is not read by nova_hookspec; "
     "did you mean [nova_hookspec]?"),
    ("[nova_hookspec]\nautoload = flase\n", {},
     "option autoload [nova_hookspec] in {path}: 'flase' is not a valid bool"),
    ("[nova_hookspec]\ntryfirst = creat_instance=acme-b\n", {},
     "names hook point 'creat_instance' in 'creat_instance=acme-b', which is no hook point; "
     "did you mean 'create_instance'?"),
    ("", {"NOVA_HOOKSPEC_TRACE": "maybe"}, "NOVA_HOOKSPEC_TRACE='maybe' is not a boolean"),
    ("", {"NOVA_HOOKSPEC_ORDR": "acme-b"},
     "environment variable NOVA_HOOKSPEC_ORDR is not one of nova_hookspec's; "
     "did you mean 'NOVA_HOOKSPEC_ORDER'?"),
    ("", {"NOVA_HOOKSPEC_ORDER": "creat_instance=acme-b,acme-a"},
     "which is no hook point; did you mean 'create_instance'?"),
])
def test_operator_mistakes_fail_check(site: Site, tmp_path: Path, conf: str,
                                      env: dict[str, str], expected: str) -> None:
    two_plugins(site)
    path = tmp_path / "nova.conf"
    path.write_text(conf or "[DEFAULT]\n")
    done = cli(site, "check", "--config-file", str(path), env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert expected.format(path=path) in done.stdout
    assert "1 warning(s)" in done.stdout
    assert "LocationInfo" not in done.stdout + done.stderr
    clean = cli(site, "check", "--config-file", str(path) if not conf else os.devnull)
    assert clean.returncode == 0, clean.stdout


def test_legacy_point_name_as_prefix_is_accepted(site: Site, tmp_path: Path) -> None:
    for name in ("acme-a", "acme-b"):
        module = name.replace("-", "_")
        site.add_dist(name, {"nova.hooks": [f"build_instance = {module}:Hook"]}, {
            module: f"import hooklog\nclass Hook:\n    def pre(self, *a, **k):\n"
                    f"        hooklog.EVENTS.append({name!r})\n"})
    done = cli(site, "list", "--json", env={"NOVA_HOOKSPEC_TRYLAST": "build_instance=acme-a"})
    assert done.returncode == 0, done.stderr
    [entry] = [e for e in json.loads(done.stdout)["hooks"]
               if e["hook"] == "build_and_run_instance_pre"]
    assert [s["distribution"] for s in entry["order"]] == ["acme-b", "acme-a"]
    checked = cli(site, "check", env={"NOVA_HOOKSPEC_TRYLAST": "build_instance=acme-a"})
    assert checked.returncode == 0, checked.stdout


def test_plugin_variables_of_installed_plugins_are_not_reported(site: Site) -> None:
    site.add_dist("nova-hookspec-acme", {"nova_hookspec": ["p = acme_a"]},
                  {"acme_a": TYPED.format(name="acme")})
    done = cli(site, "check", env={"NOVA_HOOKSPEC_ACME_URL": "http://inventory"})
    assert done.returncode == 0, done.stdout


# 10. An empty allow list in the environment does not drop nova.conf's.

def test_empty_allow_variable_keeps_the_config_files_allow_list(
        site: Site, tmp_path: Path) -> None:
    two_plugins(site)
    path = tmp_path / "nova.conf"
    path.write_text("[nova_hookspec]\nplugins = acme-a\n")
    done = cli(site, "check", "--config-file", str(path), env={"NOVA_HOOKSPEC_PLUGINS": ""})
    assert "blocked acme-b:acme_b: not in the allow list (plugins [nova_hookspec]" in done.stdout
    assert "ok    acme-a:acme_a" in done.stdout
    assert "NOVA_HOOKSPEC_PLUGINS names no plugin: ignored" in done.stdout
    assert done.returncode == 1


# 5. The wrong group, or a near-miss group name, is named with the right one.

def test_typed_module_on_the_legacy_group_is_told_its_group(site: Site) -> None:
    site.add_dist("acme-typed", {"nova.hooks": ["create_instance = acme_typed"]},
                  {"acme_typed": TYPED.format(name="acme")})
    done = cli(site, "check")
    assert done.returncode == 1
    assert "is not a class; it has @hookimpl functions: a typed plugin is declared in the " \
           "'nova_hookspec' entry-point group, not 'nova.hooks'" in done.stdout


def test_legacy_class_on_the_typed_group_is_told_its_group(site: Site) -> None:
    site.add_dist("acme-legacy", {"nova_hookspec": ["create_instance = acme_legacy:Hook"]}, {
        "acme_legacy": "class Hook:\n    def pre(self, *a, **k):\n        pass\n"})
    done = cli(site, "check")
    assert done.returncode == 1
    assert "it has 'pre'/'post' methods: a classic nova.hooks class is declared in the " \
           "'nova.hooks' entry-point group" in done.stdout


@pytest.mark.parametrize(("group", "meant"), [("nova_hookspecs", "nova_hookspec"),
                                              ("nova.hook", "nova.hooks"),
                                              ("nova-hooks", "nova.hooks")])
def test_near_miss_group_is_reported(site: Site, group: str, meant: str) -> None:
    site.add_dist("acme-typo", {group: ["create_instance = acme_typo"]},
                  {"acme_typo": TYPED.format(name="acme")})
    done = cli(site, "check")
    assert done.returncode == 1, done.stdout
    assert (f"distribution acme-typo declares entry points in group {group!r}, which "
            f"nova_hookspec does not read; did you mean {meant!r}?") in done.stdout


# 6. nova-hookspec new refuses names that would break or shadow; one install hint.

@pytest.mark.parametrize(("name", "expected"), [
    ("nova_hookspec", "would shadow the module 'nova_hookspec'"),
    ("pytest", "would shadow the module 'pytest'"),
    ("json", "would shadow the module 'json'"),
    ("class", "is a Python keyword"),
    ("import", "is a Python keyword"),
    ("lambda", "is a Python keyword"),
    ("../evil", "is no plugin name"),
    ("acme audit", "is no plugin name"),
    ("acme-", "is no plugin name"),
])
def test_new_refuses_bad_names(tmp_path: Path, site: Site, name: str, expected: str) -> None:
    done = cli(site, "new", name, cwd=tmp_path)
    assert done.returncode == 1
    assert expected in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # nothing written


def test_new_names_where_an_installed_plugin_of_that_name_is(tmp_path: Path, site: Site) -> None:
    """The quickstart's plugin installed by hand, then ``new`` with its name (issue 30
    item 7's walk): refused, naming the installed module's file."""
    site.add_dist("acme-inventory", {"nova_hookspec": ["inventory = acme_inventory"]},
                  {"acme_inventory": TYPED.format(name="acme")})
    done = cli(site, "new", "acme-inventory", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"nova-hookspec new: 'acme-inventory' would shadow the module 'acme_inventory' that "
        f"already exists here ({site.root / 'acme_inventory.py'}); choose a name of your own "
        "(e.g. acme-acme-inventory)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # nothing written


def test_new_install_hints_agree(tmp_path: Path, site: Site) -> None:
    from nova_hookspec._cli.scaffold import install_command, installed_from

    hint = install_command("acme-audit", installed_from())
    made = cli(site, "new", "acme-audit", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert hint in made.stdout
    assert hint in (tmp_path / "acme-audit" / "README.md").read_text()
    helped = cli(site, "new", "--help")
    assert "pip install './NAME[test]' && pytest NAME" in " ".join(helped.stdout.split())


# 7. Docs and demo tell the truth.

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_quickstart_pyproject_is_complete_and_builds(tmp_path: Path) -> None:
    import re

    page = (DOCS / "quickstart.md").read_text()
    [toml] = [block for block in re.findall(r"```toml\n(.*?)```", page, flags=re.S)
              if "[build-system]" in block]
    [code] = re.findall(r"```python\n(# acme_inventory.py\n.*?)```", page, flags=re.S)
    (tmp_path / "pyproject.toml").write_text(toml)
    (tmp_path / "acme_inventory.py").write_text(code)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "-w", str(tmp_path / "dist"), str(tmp_path)],
                          capture_output=True, text=True, timeout=300, check=False)
    if "No module named 'flit_core'" in done.stderr + done.stdout:  # build it isolated then
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w",
                               str(tmp_path / "dist"), str(tmp_path)],
                              capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    [wheel] = (tmp_path / "dist").glob("acme_inventory-0.1.0-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        declared = archive.read("acme_inventory-0.1.0.dist-info/entry_points.txt").decode()
        assert "acme_inventory.py" in archive.namelist()
    assert "[nova_hookspec]\ninventory=acme_inventory" in declared.replace(" ", "")
    assert "nova-hookspec new" in page


def test_quickstart_names_the_service_of_every_hook_point() -> None:
    from nova_hookspec._spec import points as _points

    page = (DOCS / "quickstart.md").read_text()
    for point in _points.TYPED_POINTS:
        assert re.search(rf"^\| `{point.name}` \| nova-(api|compute)", page, flags=re.M), point.name


def test_migration_says_when_legacy_classes_are_created() -> None:
    page = (DOCS / "migration.md").read_text()
    assert "created with no arguments when their hook point\n  is first called" in page


def test_cli_docs_warn_that_smoke_runs_side_effects() -> None:
    assert "runs the plugins' own code, side effects included" in (DOCS / "cli.md").read_text()


def test_demo_loads_legacy_classes_when_their_point_is_called(site: Site) -> None:
    site.add_dist("acme-legacy", {"nova.hooks": ["create_instance = acme_legacy:Hook",
                                                 "delete_instance = acme_legacy:Hook"]},
                  {"acme_legacy": "class Hook:\n    def pre(self, *a, **k):\n        pass\n"})
    done = cli(site, "demo")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "the 2 legacy classes are imported when their hook point is first called" in out
    create = out.index("1. create_instance")
    loaded_create = out.index("loaded 1 legacy class(es) for hook point 'create_instance'")
    loaded_delete = out.index("loaded 1 legacy class(es) for hook point 'delete_instance'")
    assert create < loaded_create < out.index("4. delete_instance") < loaded_delete
