"""The typed hook relay: generated from the specs, and checked by mypy."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nova_hookspec
from nova_hookspec.relay import typed_hook

ROOT = Path(__file__).resolve().parent.parent


def test_relay_module_matches_the_specs() -> None:
    spec = importlib.util.spec_from_file_location("gen_relay", ROOT / "tools" / "gen_relay.py")
    assert spec is not None
    assert spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    current = (Path(nova_hookspec.__file__).resolve().parent / "relay.py").read_text()
    assert current == gen.render(), "run: python tools/gen_relay.py > nova_hookspec/relay.py"


def test_typed_hook_calls_the_real_relay() -> None:
    seen = []

    class Observer:
        @nova_hookspec.hookimpl
        def delete_instance_pre(self, instance):
            seen.append(instance)

    nova_hookspec.get_plugin_manager().register(Observer())
    hook = typed_hook()
    assert hook.delete_instance_pre(compute_manager=None, context=None, instance="i-1",
                                    bdms=[], args=(), kwargs={}) == []  # observers return None
    assert seen == ["i-1"]


def test_typed_direct_call_needs_only_the_arguments_it_names() -> None:
    seen = []

    class Observer:
        @nova_hookspec.hookimpl
        def delete_instance_pre(self, instance, bdms, args, kwargs):
            seen.append((instance, bdms, args, kwargs))

        @nova_hookspec.hookimpl
        def create_instance_post(self, result, legacy_bdm, args):
            seen.append((result, legacy_bdm, args))

    nova_hookspec.get_plugin_manager().register(Observer())
    hook = typed_hook()
    assert hook.delete_instance_pre(instance="i-1") == []
    assert hook.create_instance_post() == []
    assert seen == [("i-1", None, (), {}), (None, True, ())]  # the documented defaults


def mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "snippet.py"
    path.write_text(textwrap.dedent(source))
    return subprocess.run(
        # follow-imports=silent: the snippet's errors, not nova_hookspec's own (which
        # nox -s typecheck checks, against a typed pluggy; 0.13 has no py.typed).
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent",
         str(path)],
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=300,
    )


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is in the test extra")
def test_mypy_catches_a_misspelled_keyword_and_a_wrong_type(tmp_path: Path) -> None:
    good = mypy(tmp_path, """
        from nova_hookspec.relay import typed_hook

        results: list[None] = typed_hook().delete_instance_pre(
            compute_manager=None, context=None, instance=None, bdms=None, args=(), kwargs={})
        fewer: list[None] = typed_hook().delete_instance_pre(instance=None)
    """)
    assert good.returncode == 0, good.stdout
    bad = mypy(tmp_path, """
        from nova_hookspec.relay import typed_hook

        typed_hook().delete_instance_pre(
            compute_manager=None, context=None, instanse=None, bdms=None, args=[], kwargs={})
    """)
    assert bad.returncode == 1
    assert 'Unexpected keyword argument "instanse"' in bad.stdout
    assert 'Argument "args" to "delete_instance_pre" of "HookRelay" has incompatible type' in bad.stdout
