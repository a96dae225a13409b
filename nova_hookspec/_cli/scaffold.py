"""``nova-hookspec new NAME``: write a plugin distribution that passes its own tests.

The distribution has a ``pyproject.toml`` with the entry point, the plugin
(typed: one observer and one wrapper; ``--legacy``: a classic ``nova.hooks``
pre/post class), a test written against the kit (:mod:`nova_hookspec.testing`)
and a README. ``pip install './NAME[test]' && pytest NAME`` passes as generated.
"""

from __future__ import annotations

import importlib.util
import json
import keyword
import re
import shlex
import sys
import textwrap
from pathlib import Path
from urllib.parse import unquote, urlsplit

from nova_hookspec import __version__
from nova_hookspec._seams.metadata import metadata

PYPROJECT = """\
[build-system]
requires = ["flit_core>=3.12,<5"]
build-backend = "flit_core.buildapi"

[project]
name = "{dist}"
version = "0.1.0"
description = "{description}"
readme = "README.md"
requires-python = ">=3.8"
dependencies = ["nova-hookspec>={version}"]

[project.optional-dependencies]
test = ["nova-hookspec[testing]>={version}"]

[project.entry-points.{group}]
{entry_point}
"""

TYPED = '''\
"""{dist}: a nova_hookspec plugin for OpenStack Nova."""

import logging

from nova_hookspec import hookimpl

LOG = logging.getLogger(__name__)


@hookimpl
def create_instance_post(result, context):
    """After nova-api created instances: here, log them."""
    instances, reservation_id = result
    for instance in instances:
        LOG.info("created %s (%s) for project %s in %s", instance.hostname, instance.uuid,
                 context.project_id, reservation_id)


@hookimpl(wrapper=True)
def delete_instance(instance):
    """Around the deletion of an instance on its compute host."""
    LOG.info("deleting %s", instance.uuid)
    result = yield  # Nova deletes the instance here; its exception would come out here
    LOG.info("deleted %s", instance.uuid)
    return result
'''

TYPED_TEST = '''\
"""Tests of {dist}, written against nova_hookspec's kit (the hook_tester fixture)."""

import logging

import {module}


def test_created_instances_are_logged(hook_tester, caplog):
    caplog.set_level(logging.INFO, logger="{module}")
    hook_tester.register({module})
    run = hook_tester.run("create_instance")
    instances, _ = run.result
    assert run.failures == []
    assert run.ran("post") == ["{module}"]
    assert f"created web-1 ({{instances[0].uuid}})" in caplog.text


def test_the_wrapper_returns_novas_result(hook_tester):
    hook_tester.register({module})
    run = hook_tester.run("delete_instance")
    assert run.exception is None
    assert [(call.plugin, call.phase) for call in run.calls] == [
        ("{module}", "call"), ("(nova)", "call")]
'''

LEGACY = '''\
"""{dist}: a classic nova.hooks class, run by nova_hookspec (or Nova <= 21)."""

import logging

LOG = logging.getLogger(__name__)


class CreateInstanceHook:
    """pre/post around nova.compute.api.API.create, called as Nova called them."""

    def pre(self, *args, **kwargs):
        LOG.info("creating %s", kwargs.get("display_name"))

    def post(self, rv, *args, **kwargs):
        instances, reservation_id = rv
        for instance in instances:
            LOG.info("created %s (%s)", instance.hostname, instance.uuid)
'''

LEGACY_TEST = '''\
"""Tests of {dist}, written against nova_hookspec's kit (the hook_tester fixture)."""

import logging

from {module} import CreateInstanceHook


def test_pre_and_post_run_around_create(hook_tester, caplog):
    caplog.set_level(logging.INFO, logger="{module}")
    name = hook_tester.register_legacy("create_instance", CreateInstanceHook)
    run = hook_tester.run("create_instance")
    assert run.failures == []
    assert run.ran("pre") == [name]
    assert run.ran("post") == [name]
    assert "creating web-1" in caplog.text
'''

README = """\
# {dist}

A nova_hookspec plugin for OpenStack Nova ({kind}), made by `nova-hookspec new`.

From the folder that holds `{dist}/`:

```sh
{install}
```

Into the environment Nova runs from (here `/opt/nova`), under the constraints
file of Nova's series, from the same folder:

```sh
{nova_install}
/opt/nova/bin/nova-hookspec check --smoke
```

There it runs on the hook points nova_hookspec attaches (`nova-hookspec run --
nova-compute ...`). See nova_hookspec's documentation: writing typed hook
plugins, testing your plugin, ordering, operators' controls.
"""


class ScaffoldError(ValueError):
    """The plugin cannot be written (a bad name, an existing folder)."""


#: How a written plugin is installed and tested, from the folder that holds it:
#: the command's output, its ``--help`` and the plugin's README all say this.
INSTALL = "pip install './{dist}[test]' && pytest {dist}"
#: The same before nova-hookspec is on the package index: nova-hookspec from
#: the checkout or wheel this one was installed from, in the same command.
INSTALL_FROM = "pip install {source} './{dist}[test]' && pytest {dist}"
#: Into Nova's environment under its series' constraints, in one command so that
#: pip keeps Nova's pins; ``{source}`` is nova-hookspec's checkout or wheel (or
#: nothing, from the index): the plugin's dependency cannot be found otherwise.
NOVA_INSTALL = "/opt/nova/bin/pip install -c upper-constraints.txt {source}./{dist}"


def installed_from() -> str | None:
    """The local checkout or wheel this nova-hookspec was installed from, or ``None``
    (installed from a package index, or not installed: run from a source tree).

    pip records where a distribution came from (PEP 610, ``direct_url.json``);
    a ``file://`` URL there is a folder or a wheel a plugin's install can name.
    """
    text = None
    for name in ("nova-hookspec", "nova_hookspec"):  # old importlib_metadata: as written
        try:
            text = metadata().distribution(name).read_text("direct_url.json")
            break
        except Exception:  # noqa: BLE001 - not installed, or unreadable: no source
            continue
    if not text:
        return None
    try:
        url = urlsplit(str(json.loads(text).get("url", "")))
    except (ValueError, AttributeError):
        return None
    if url.scheme != "file":
        return None
    path = Path(unquote(url.path))
    return str(path) if path.exists() else None


def install_command(dist: str, source: str | None = None) -> str:
    """How to install and test the plugin ``dist``: from the index, or with
    nova-hookspec (and its ``testing`` extra) from ``source``."""
    if source is None:
        return INSTALL.format(dist=dist)
    return INSTALL_FROM.format(dist=dist, source=shlex.quote(f"{source}[testing]"))


def nova_install_command(dist: str, source: str | None = None) -> str:
    """How to install the plugin ``dist`` into Nova's environment (``/opt/nova``),
    with nova-hookspec from ``source`` when it is not on the index."""
    return NOVA_INSTALL.format(dist=dist, source=f"{shlex.quote(source)} " if source else "")

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*\Z")

#: Modules a plugin must not shadow besides the standard library's and any
#: importable here: the framework, its dependencies, the test runner, Nova.
_RESERVED = frozenset({"nova", "nova_hookspec", "pluggy", "pytest", "_pytest", "oslo_config",
                       "oslo_log", "importlib_metadata", "setuptools", "pip", "test", "tests"})


def names(name: str) -> tuple[str, str]:
    """``(distribution, module)`` for a plugin name such as ``acme-audit``.

    :raises ScaffoldError: for a name that is not a distribution name as
        written (no path, no spaces), whose module would be a Python keyword,
        or would shadow a module (the standard library, nova_hookspec, pytest,
        Nova, or any importable here).
    """
    if not _NAME.match(name):
        raise ScaffoldError(
            f"{name!r} is no plugin name: use letters, digits and single '-', '_' or '.' "
            "between them, starting with a letter (e.g. acme-audit)")
    dist = re.sub(r"[-_.]+", "-", name.lower())  # PEP 503 style
    module = dist.replace("-", "_")
    if keyword.iskeyword(module) or keyword.iskeyword(module.capitalize()):
        raise ScaffoldError(f"{name!r} is a Python keyword: its module could not be imported")
    where = _found_at(module)
    if module in _RESERVED or module in getattr(sys, "stdlib_module_names", ()) or where:
        at = f" ({where})" if where and where != "?" else ""
        raise ScaffoldError(
            f"{name!r} would shadow the module {module!r} that already exists here{at}; "
            f"choose a name of your own (e.g. acme-{dist})")
    return dist, module


def _found_at(module: str) -> str:
    """Where ``module`` is importable from here (``"?"`` when it cannot be told, as
    for a module whose import finder fails), or ``""``: a plugin installed earlier
    under the same name is named with its file, so the refusal says which."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return "?"
    if spec is None:
        return ""
    return spec.origin if spec.origin and spec.origin not in ("built-in", "frozen") else "?"


def write(name: str, directory: Path, legacy: bool = False) -> Path:
    """Write the plugin ``name`` into ``directory/NAME``; return that folder."""
    dist, module = names(name)
    root = directory / dist
    if root.exists():
        raise ScaffoldError(f"{root} exists already")
    source = installed_from()
    fill = {"dist": dist, "module": module, "version": __version__,
            "kind": "a legacy pre/post class" if legacy else "typed",
            "install": install_command(dist, source),
            "nova_install": nova_install_command(dist, source)}
    if legacy:
        group, entry_point = '"nova.hooks"', f'create_instance = "{module}:CreateInstanceHook"'
        code, test = LEGACY, LEGACY_TEST
        description = "A classic nova.hooks pre/post class for OpenStack Nova"
    else:
        group, entry_point = "nova_hookspec", f'{module} = "{module}"'
        code, test = TYPED, TYPED_TEST
        description = "A typed nova_hookspec plugin for OpenStack Nova"
    files = {
        "pyproject.toml": PYPROJECT.format(group=group, entry_point=entry_point,
                                           description=description, **fill),
        f"{module}/__init__.py": code.format(**fill),
        f"tests/test_{module}.py": test.format(**fill),
        "README.md": README.format(**fill),
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root
