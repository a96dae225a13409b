"""The run order as it is reported: ``list``, ``check`` and the service summary.

Read from the very lists the hook executor walks (pluggy's
``get_hookimpls()``, last first), so what is reported is the order the
process will use.
"""

from __future__ import annotations

from dataclasses import dataclass

from nova_hookspec._plugins.manager import NovaPluginManager, is_core_impl
from nova_hookspec._seams import pluggy_api as _pluggy
from nova_hookspec._spec import points as _points

__all__ = ["Step", "run_order", "summary"]


@dataclass(frozen=True)
class Step:
    """One implementation in a phase, in run order."""

    position: int
    plugin: str
    kind: str  # typed, legacy, code, nova
    wrapper: bool
    tryfirst: bool
    trylast: bool
    entry_point: str | None
    distribution: str | None
    version: str | None
    rule: str


def run_order(pm: NovaPluginManager, hook_name: str) -> list[Step]:
    """The implementations of ``hook_name`` in the order they start running."""
    hook = getattr(pm.hook, hook_name)
    steps = []
    for position, impl in enumerate(reversed(hook.get_hookimpls()), start=1):
        info = pm.plugin_infos.get(impl.plugin_name)
        kind = "nova" if is_core_impl(impl) else (info.kind if info else "code")
        steps.append(Step(
            position=position,
            plugin="Nova's callable" if kind == "nova" else impl.plugin_name,
            kind=kind,
            wrapper=_pluggy.is_wrapper(impl),
            tryfirst=bool(impl.opts.get("tryfirst")),
            trylast=bool(impl.opts.get("trylast")),
            entry_point=info.value if info else None,
            distribution=info.distribution if info else None,
            version=info.version if info else None,
            rule="innermost" if kind == "nova" else pm.rule(hook_name, impl),
        ))
    return steps


def summary(pm: NovaPluginManager, attached: list[str]) -> str:
    """The one-line summary a Nova service logs: points, plugins per hook, configuration.

    Legacy classes not loaded yet (they load when their hook point is first
    called) are named as such, not imported.
    """
    parts = [f"hook points attached: {', '.join(attached) or 'none'}"]
    hooks = []
    for point in _points.points():
        for phase in _points.PHASES:
            hook_name = point.hook_name(phase)
            steps = [s.plugin for s in run_order(pm, hook_name) if s.kind != "nova"]
            if steps:
                hooks.append(f"{hook_name}: {', '.join(steps)}")
    parts.append("plugins in order: " + ("; ".join(hooks) or "none"))
    report = pm.discovery
    pending = [info.name for items in (report.pending.values() if report else [])
               for info, _ in items]
    if pending:
        parts.append("legacy classes loaded when their hook is first called: "
                     + ", ".join(pending))
    if report and (report.problems or report.blocked):
        parts.append(f"{len(report.problems)} broken and {len(report.blocked)} blocked "
                     "plugin(s) (nova-hookspec check)")
    if pm.deferred:
        parts.append("deferred to the worker: " + ", ".join(
            f"{plugin} ({hook})" for plugin, hook in sorted(pm.deferred)))
    sources = sorted(set(pm.controls.sources.values()))
    parts.append("configuration: " + (", ".join(sources) or "defaults"))
    return "nova_hookspec: " + " | ".join(parts)

