"""The inventory plugin under nova_hookspec's kit: realistic objects, a record of calls."""

from __future__ import annotations

from pathlib import Path

import pytest
from nova_hookspec_inventory import Inventory

from nova_hookspec.testing import HookTester


def test_create_and_delete_keep_the_inventory(hook_tester: HookTester, tmp_path: Path) -> None:
    inventory = Inventory(tmp_path / "inventory.sqlite3")
    hook_tester.register(inventory, "inventory")
    created = hook_tester.run("create_instance")
    instances, reservation = created.result
    assert created.failures == []
    assert created.ran("post") == ["inventory"]
    assert [(r.uuid, r.hostname, r.reservation_id) for r in inventory.records()] == [
        (instances[0].uuid, "web-1", reservation)]
    manager, context = hook_tester.sample("delete_instance")[1][:2]
    deleted = hook_tester.run("delete_instance", manager, context, instances[0], [])
    assert deleted.failures == []
    assert inventory.records() == []


def test_an_unwritable_database_is_a_logged_failure_not_a_broken_boot(
    hook_tester: HookTester, tmp_path: Path
) -> None:
    inventory = Inventory(tmp_path)  # a folder: sqlite3 cannot open it as a database
    hook_tester.register(inventory, "inventory")
    run = hook_tester.run("create_instance")
    assert run.exception is None
    assert run.result[0][0].hostname == "web-1"  # Nova's result reached the caller
    assert [(f.plugin, f.phase) for f in run.failures] == [("inventory", "post")]
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever sqlite3 raises
        inventory.records()
