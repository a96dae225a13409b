"""The legacy logger's classes under nova_hookspec's kit, called as Nova called them."""

from __future__ import annotations

import logging

import pytest
from nova_hookspec_legacy_logger import BuildInstance, CreateInstance

from nova_hookspec.testing import HookTester


def test_create_and_build_are_logged(
    hook_tester: HookTester, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    create = hook_tester.register_legacy("create_instance", CreateInstance)
    build = hook_tester.register_legacy("build_instance", BuildInstance)
    created = hook_tester.run("create_instance")
    built = hook_tester.run("build_and_run_instance")
    assert created.ran() == [create, create]  # pre, then post
    assert built.ran() == [build, build]
    assert created.failures == built.failures == []
    assert len(caplog.records) >= 4
