"""What ``nova-hookspec list`` and ``check`` report.

``list`` reads the order from the very lists the hook executor walks
(pluggy's ``get_hookimpls()``, last first), so what it prints is the order
the process will use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from nova_hookspec import __version__, _compat, _pluggy, _points, _smoke
from nova_hookspec._manager import NovaPluginManager, is_core_impl
from nova_hookspec._markers import LEGACY_GROUP, TYPED_GROUP


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


def listing(pm: NovaPluginManager) -> list[dict[str, Any]]:
    """Every hook point and phase with its run order (the ``--json`` form)."""
    pm.load_all()
    result = []
    for point in _points.points():
        pm.ensure_point(point)
        for phase in _points.PHASES:
            hook_name = point.hook_name(phase)
            result.append({
                "point": point.name,
                "phase": phase,
                "hook": hook_name,
                "nova_target": point.nova_target,
                "order": [asdict(step) for step in run_order(pm, hook_name)],
            })
    return result


def _mark(step: Step) -> str:
    marks = [step.kind]
    if step.wrapper:
        marks.append("wrapper")
    if step.distribution:
        marks.append(f"{step.distribution} {step.version}")
    return ", ".join(marks) + (f"; {step.rule}" if step.rule else "")


def format_listing(pm: NovaPluginManager) -> str:
    """The human form of :func:`listing`."""
    lines = []
    current = None
    for entry in listing(pm):
        if entry["point"] != current:
            current = entry["point"]
            target = f"  ({entry['nova_target']})" if entry["nova_target"] else "  (custom)"
            lines.append(f"{current}{target}")
        steps = [Step(**s) for s in entry["order"]]
        lines.append(f"  {entry['phase']:<5} {entry['hook']}")
        plugins = [s for s in steps if s.kind != "nova"]
        if not plugins:
            lines.append("        (no plugin)")
        for n, step in enumerate(plugins, start=1):
            lines.append(f"        {n}. {step.plugin}  [{_mark(step)}]")
        if entry["phase"] == "call" and plugins:
            lines.append("        -> Nova's callable, innermost")
    return "\n".join(lines)


LIST_SCHEMA = "nova-hookspec/list/1"
CHECK_SCHEMA = "nova-hookspec/check/1"


def list_document(pm: NovaPluginManager) -> dict[str, Any]:
    """``list --json``: :func:`listing` with the schema and version (``schemas/list.schema.json``)."""
    return {"schema": LIST_SCHEMA, "version": __version__, "hooks": listing(pm)}


def check_document(pm: NovaPluginManager, smoke: bool = False) -> dict[str, Any]:
    """``check --json`` (``schemas/check.schema.json``): every plugin's state, the
    controls' warnings, the smoke calls; ``status`` 1 when any is a problem."""
    pm.load_all()
    report = pm.discovery
    plugins: list[dict[str, Any]] = []

    def add(info: Any, state: str, message: str | None) -> None:
        plugins.append({"plugin": info.name, "state": state, "kind": info.kind,
                        "entry_point": info.entry_point, "group": info.group,
                        "distribution": info.distribution, "version": info.version,
                        "message": message})

    warnings: list[str] = []
    if report is not None:
        for problem in report.problems:
            add(problem.info, "broken", problem.message)
        for info, why in report.blocked:
            add(info, "blocked", why)
        for info in report.registered:
            add(info, "ok", None)
        warnings = list(report.warnings)
    for distribution, group, meant in _compat.near_miss_groups((TYPED_GROUP, LEGACY_GROUP)):
        warnings.append(f"distribution {distribution} declares entry points in group "
                        f"{group!r}, which nova_hookspec does not read; did you mean {meant!r}?")
    calls = [asdict(result) for result in _smoke.smoke_run(pm)] if smoke else None
    failed = any(call["outcome"] == "failed" for call in calls or ())
    broken = any(p["state"] == "broken" for p in plugins)
    return {"schema": CHECK_SCHEMA, "version": __version__,
            "status": 1 if broken or warnings or failed else 0,
            "plugins": plugins, "warnings": warnings, "smoke": calls}


def format_check(document: dict[str, Any]) -> str:
    """The human form of :func:`check_document`."""
    lines = []
    labels = {"broken": "ERROR", "blocked": "blocked", "ok": "ok   "}
    for state in ("broken", "blocked", "ok"):
        for plugin in (p for p in document["plugins"] if p["state"] == state):
            detail = {"broken": f": {plugin['message']}", "blocked": f": {plugin['message']}",
                      "ok": f" ({plugin['kind']}, {plugin['entry_point']})"}[state]
            lines.append(f"{labels[state]} {plugin['plugin']}{detail}")
        if state == "broken":
            lines.extend(f"WARNING {warning}" for warning in document["warnings"])
    for call in document["smoke"] or ():
        detail = f": {call['detail']}" if call["detail"] else ""
        label = {"ok": "ok", "fatal": "FATAL", "failed": "FAILED"}[call["outcome"]]
        lines.append(f"smoke {label:<6} {call['plugin']} {call['hook']}{detail}")
    count = {state: sum(p["state"] == state for p in document["plugins"])
             for state in ("ok", "broken", "blocked")}
    failed = sum(c["outcome"] == "failed" for c in document["smoke"] or ())
    lines.append(
        f"{count['ok']} plugin(s) ok, {count['broken']} broken, {count['blocked']} blocked, "
        f"{len(document['warnings'])} warning(s)"
        + (f", {failed} smoke call(s) failed" if document["smoke"] is not None else "")
    )
    return "\n".join(lines)


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
    sources = sorted(set(pm.controls.sources.values()))
    parts.append("configuration: " + (", ".join(sources) or "defaults"))
    return "nova_hookspec: " + " | ".join(parts)

