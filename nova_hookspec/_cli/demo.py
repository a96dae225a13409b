"""``nova-hookspec demo``: a simulated instance lifecycle through the four hook points.

The "Nova" here is a stand-in with the real signatures (Nova 34), passing the
same stand-in objects the plugin authors' kit uses (:mod:`nova_hookspec._nova.standins`:
an instance, a request context with Nova's attribute names), decorated
with :func:`~nova_hookspec.add_hook` exactly as Nova <= 21 decorated its own
code. The built-in demo plugins are ordinary typed plugins; plugins installed
through entry points (legacy ``nova.hooks`` classes and typed ones) run too.
What is printed comes from the hook calls themselves: pluggy's hook-call
monitoring reports each phase and the order its plugins run in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TextIO

import pluggy

from nova_hookspec import FatalHookException, add_hook, hookimpl
from nova_hookspec._call import tracing as _tracing
from nova_hookspec._cli import demo_backfill as _demo_backfill
from nova_hookspec._cli import demo_deferred as _demo_deferred
from nova_hookspec._nova.standins import Instance, RequestContext
from nova_hookspec._plugins import manager as _manager
from nova_hookspec._plugins import process as _process

# ---------------------------------------------------------------- a stand-in Nova


class ComputeAPI:
    """Stands in for ``nova.compute.api.API``."""

    @add_hook("create_instance")
    def create(
        self, context: RequestContext, flavor: str, image_href: str, kernel_id: str | None = None,
        ramdisk_id: str | None = None, min_count: int | None = None,
        max_count: int | None = None, display_name: str | None = None,
        metadata: dict[str, str] | None = None, **more: Any,
    ) -> tuple[list[Instance], str]:
        count = max_count or 1
        names = [display_name or "server"] if count == 1 else [
            f"{display_name}-{n}" for n in range(1, count + 1)
        ]
        _say("nova", f"API.create builds {count} instance(s) of flavor {flavor}")
        instances = [Instance(name, metadata=dict(metadata or {})) for name in names]
        return instances, f"r-{uuid.uuid4().hex[:8]}"


class ComputeManager:
    """Stands in for ``nova.compute.manager.ComputeManager``."""

    host = "compute-1"

    @add_hook("build_and_run_instance")
    def _do_build_and_run_instance(
        self, context: RequestContext, instance: Instance, image: dict[str, Any], request_spec: object,
        filter_properties: dict[str, Any], admin_password: str | None,
        injected_files: list[tuple[str, bytes]], requested_networks: object,
        security_groups: list[str], block_device_mapping: object, node: str | None = None,
        limits: object = None, host_list: object = None, accel_uuids: list[str] | None = None,
    ) -> str:
        instance.host = self.host
        _say("nova", f"ComputeManager builds {instance.hostname} on {self.host}")
        return "ACTIVE"

    @add_hook("delete_instance")
    def _delete_instance(self, context: RequestContext, instance: Instance, bdms: list[object]) -> None:
        instance.deleted = True
        _say("nova", f"ComputeManager deletes {instance.hostname}")


@add_hook("instance_network_info")
def update_instance_cache_with_nw_info(
    impl: object, context: RequestContext, instance: Instance, nw_info: list[dict[str, str]] | None = None
) -> None:
    """Stands in for ``nova.network.neutron.update_instance_cache_with_nw_info``."""
    _say("nova", f"network info cache of {instance.hostname} updated")


# ---------------------------------------------------------------- built-in demo plugins

_out: TextIO = sys.stdout


def _say(who: str, what: str) -> None:
    print(f"      [{who}] {what}", file=_out)


class NamePolicy:
    """Refuses server names that break a pattern (a fatal pre observer)."""

    pattern = re.compile(r"^[a-z][a-z0-9-]*$")

    @hookimpl(tryfirst=True)
    def create_instance_pre(self, display_name: str | None) -> None:
        if display_name is None or not self.pattern.match(display_name):
            _say("demo-policy", f"refuses name {display_name!r}")
            raise FatalHookException(f"server name {display_name!r} breaks {self.pattern.pattern}")
        _say("demo-policy", f"name {display_name!r} is allowed")


class ManagedBy:
    """A wrapper that tags every created instance through the return value."""

    @hookimpl(wrapper=True)
    def create_instance(self) -> Any:
        instances, reservation_id = yield
        for instance in instances:
            instance.metadata["managed-by"] = "nova-hookspec"
        _say("demo-tagger", f"tagged {len(instances)} instance(s) managed-by=nova-hookspec")
        return instances, reservation_id


class Inventory:
    """Records instances on create and removes them on delete."""

    def __init__(self) -> None:
        self.hosts: dict[str, str] = {}

    @hookimpl
    def create_instance_post(self, result: tuple[list[Instance], str]) -> None:
        for instance in result[0]:
            self.hosts[instance.uuid] = instance.hostname
            _say("demo-inventory", f"recorded {instance.hostname} ({instance.uuid[:8]})")

    @hookimpl
    def delete_instance_post(self, instance: Instance) -> None:
        self.hosts.pop(instance.uuid, None)
        _say("demo-inventory", f"removed {instance.hostname}")


class Dns:
    """Publishes addresses; fails once on purpose to show the error policy."""

    @hookimpl
    def instance_network_info_post(self, instance: Instance, nw_info: list[dict[str, str]]) -> None:
        if not nw_info:
            raise ConnectionError("DNS server unreachable (simulated)")
        for vif in nw_info:
            _say("demo-dns", f"{instance.hostname}.example.org A {vif['address']}")


class Audit:
    """Observes every phase last (trylast)."""

    @hookimpl(trylast=True)
    def build_and_run_instance_pre(self, instance: Instance, node: str | None) -> None:
        _say("demo-audit", f"build of {instance.hostname} starts on node {node}")

    @hookimpl(trylast=True)
    def build_and_run_instance_post(self, result: object, instance: Instance) -> None:
        _say("demo-audit", f"build of {instance.hostname} ended: {result}")

    @hookimpl(trylast=True)
    def delete_instance_pre(self, instance: Instance, args: tuple[Any, ...]) -> None:
        _say("demo-audit", f"{type(args[0]).__name__} is deleting {instance.hostname}")


DEMO_PLUGINS: Sequence[tuple[str, Callable[[], object]]] = (
    ("demo-policy", NamePolicy),
    ("demo-tagger", ManagedBy),
    ("demo-inventory", Inventory),
    ("demo-dns", Dns),
    ("demo-audit", Audit),
)

# ---------------------------------------------------------------- the lifecycle


def _label(pm: _manager.NovaPluginManager, plugin_name: str) -> str:
    """A short name: the distribution of a typed plugin, ``dist:Class`` of a legacy one."""
    info = pm.plugin_infos.get(plugin_name)
    return plugin_name if info is None else _info_label(info)


def _info_label(info: Any) -> str:
    dist = info.distribution or info.value
    if info.kind == "legacy":
        return f"{dist}:{info.value.rpartition(':')[2]} (legacy)"
    return f"{dist} (typed)"


def _monitor(pm: _manager.NovaPluginManager) -> Callable[[], None]:
    """Print each phase with its plugins in run order, and after it their times."""

    def before(hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Any) -> None:
        names = [_label(pm, i.plugin_name) + (" (deferred: writes a job)"
                                              if (i.plugin_name, hook_name) in pm.deferred
                                              else "")
                 for i in reversed(impls) if not _manager.is_core_impl(i)]
        kind = "wrappers" if not hook_name.endswith(("_pre", "_post")) else "order"
        print(f"   {hook_name:<28} {kind}: {', '.join(names) or '-'}", file=_out)

    def after(outcome: Any, hook_name: str, impls: Any, kwargs: Any) -> None:
        return None

    undo_order = pm.add_hookcall_monitoring(before, after)
    def times(hook_name: str, timing: Mapping[str, float], total: float) -> None:
        parts = ", ".join(
            f"{_label(pm, name).split(' (')[0]} {seconds * 1e3:.3f} ms"
            for name, seconds in timing.items()
        )
        print(f"      time: {parts}; total {total * 1e3:.3f} ms", file=_out)

    undo_times = _tracing.enable(pm, times)

    def undo() -> None:
        undo_times()
        undo_order()

    return undo


class _NoTraceback(logging.Formatter):
    """The demo shows the log message; a real deployment's log has the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        return self.formatMessage(record)


def run(out: TextIO = sys.stdout, trace: bool = False) -> int:
    """Run the demo lifecycle, printing to ``out``; return an exit status.

    :param trace: also emit the trace log lines a live process gets with
        ``NOVA_HOOKSPEC_TRACE=1``.
    """
    global _out
    _out = out
    pm = _process.get_plugin_manager()  # discovery's own log line is not the story
    # The example plugins keep their state (the inventory's SQLite file) under
    # XDG_STATE_HOME: a folder of the demo's own, removed at the end.
    with tempfile.TemporaryDirectory(prefix="nova-hookspec-demo-") as state, \
            _environment("XDG_STATE_HOME", state), _logging_to(out, trace):
        return _lifecycle(pm, out, trace)


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


@contextlib.contextmanager
def _logging_to(out: TextIO, trace: bool) -> Iterator[None]:
    """Every logger's records on ``out``, as Nova's log would show them."""
    handler = logging.StreamHandler(out)
    handler.setFormatter(_NoTraceback("      log %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger()
    saved_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    trace_logger = logging.getLogger("nova_hookspec.trace")
    trace_logger.setLevel(logging.INFO if trace else logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved_level)
        trace_logger.setLevel(logging.NOTSET)


INTRODUCTION = """\
nova-hookspec demo: one instance's life in Nova, and the plugins hooked into it

Nova calls four places in an instance's life, the hook points: create
(nova-api), build, network info and delete (nova-compute). At each, plugins
run before the call (pre), around it (a wrapper, which may change what the
call returns) and after it (post), in an order the operator can set.
Typed plugins are functions marked @hookimpl; legacy plugins are the classic
nova.hooks classes with pre/post methods, run unchanged. Below, every phase
names its plugins in the order they run, and what each took.
"""


def _lifecycle(pm: _manager.NovaPluginManager, out: TextIO, trace: bool) -> int:
    print(INTRODUCTION, file=out)
    # Every installed plugin is named from the start; legacy classes are imported
    # when their hook point is first called (the log lines say when), as in Nova.
    report = pm.discovery
    pending = [info for items in (report.pending.values() if report else ()) for info, _ in items]
    installed = sorted({_label(pm, name) for name in pm.plugin_infos}
                       | {_info_label(info) for info in pending})
    added = []
    for name, factory in DEMO_PLUGINS:
        if pm.get_plugin(name) is None:
            pm.register(factory(), name)
            added.append(name)
    undo = _monitor(pm)
    undo_trace = _tracing.enable(pm) if trace else (lambda: None)
    try:
        print(f"plugins: {len(DEMO_PLUGINS)} examples built into the demo "
              f"({', '.join(name for name, _ in DEMO_PLUGINS)})", file=out)
        if installed:
            print(f"   and {len(installed)} installed in this environment: "
                  f"{', '.join(installed)}", file=out)
        if pending:
            print(f"   (the {len(pending)} legacy classes are imported when their hook point is "
                  "first called, as Nova did)", file=out)
        api, compute = ComputeAPI(), ComputeManager()
        print("\n1. create_instance: nova-api accepts a boot request for web-1", file=out)
        context = RequestContext()
        instances, reservation = api.create(context, "m1.small", "cirros", display_name="web-1",
                                            metadata={"team": "blue"})
        instance = instances[0]
        print(f"   -> {instance.hostname} reservation {reservation}, metadata {instance.metadata}",
              file=out)
        print("\n2. build_and_run_instance: nova-compute builds it", file=out)
        build = compute._do_build_and_run_instance(
            context, instance, {}, None, {}, None, [], None, ["default"], None, node="node-1")
        print(f"   -> {build}", file=out)
        print("\n3. instance_network_info: the network info cache is refreshed (twice; the "
              "DNS plugin fails the second time)", file=out)
        update_instance_cache_with_nw_info("neutron", context, instance,
                                           [{"address": "192.0.2.10"}])
        update_instance_cache_with_nw_info("neutron", context, instance, [])
        print("   -> a failing plugin is logged and left out; Nova's call goes on", file=out)
        print("\n4. delete_instance: nova-compute deletes it", file=out)
        compute._delete_instance(context, instance, [])
        print(f"   -> deleted={instance.deleted}", file=out)
        print("\n5. create_instance with a name the policy refuses: a pre observer that "
              "raises FatalHookException stops the call", file=out)
        try:
            api.create(context, "m1.small", "cirros", display_name="Bad Name!")
        except FatalHookException as exc:
            print(f"   -> refused before Nova ran: FatalHookException: {exc}", file=out)
        _demo_deferred.run(pm, api.create, out)
        _demo_backfill.run(pm, out)
        return 0
    finally:
        undo_trace()
        undo()
        for name in added:
            pm.unregister(name=name)
