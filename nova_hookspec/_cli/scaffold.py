"""``nova-hookspec new NAME``: write a plugin distribution that passes its own tests.

The distribution has a ``pyproject.toml`` with the entry point, the plugin
(typed: one observer and one wrapper; ``--legacy``: a classic ``nova.hooks``
pre/post class), a test written against the kit (:mod:`nova_hookspec.testing`)
and a README. ``pip install './NAME[test]' && pytest NAME`` passes as generated.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import sys
import textwrap
from pathlib import Path

from nova_hookspec import __version__

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
nova-hookspec check --smoke        # once installed where Nova runs
```

Installed in a Nova environment (`pip install -c upper-constraints.txt .`),
it runs on the hook points nova_hookspec attaches (`nova-hookspec run --
nova-compute ...`). See nova_hookspec's documentation: writing typed hook
plugins, testing your plugin, ordering, operators' controls.
"""


class ScaffoldError(ValueError):
    """The plugin cannot be written (a bad name, an existing folder)."""


#: How a written plugin is installed and tested, from the folder that holds it:
#: the command's output, its ``--help`` and the plugin's README all say this.
INSTALL = "pip install './{dist}[test]' && pytest {dist}"

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
    if module in _RESERVED or module in getattr(sys, "stdlib_module_names", ()) or _importable(
            module):
        raise ScaffoldError(
            f"{name!r} would shadow the module {module!r} that already exists here; "
            f"choose a name of your own (e.g. acme-{dist})")
    return dist, module


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return True


def write(name: str, directory: Path, legacy: bool = False) -> Path:
    """Write the plugin ``name`` into ``directory/NAME``; return that folder."""
    dist, module = names(name)
    root = directory / dist
    if root.exists():
        raise ScaffoldError(f"{root} exists already")
    fill = {"dist": dist, "module": module, "version": __version__,
            "kind": "a legacy pre/post class" if legacy else "typed",
            "install": INSTALL.format(dist=dist)}
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
