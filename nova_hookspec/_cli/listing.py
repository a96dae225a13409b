"""What ``nova-hookspec list`` and ``check`` report.

``list`` reads the order from the very lists the hook executor walks
(pluggy's ``get_hookimpls()``, last first), so what it prints is the order
the process will use.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from nova_hookspec import __version__
from nova_hookspec._cli import smoke as _smoke
from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec._plugins.report import Step, run_order
from nova_hookspec._seams import metadata as _compat
from nova_hookspec._spec import points as _points
from nova_hookspec._spec.markers import LEGACY_GROUP, TYPED_GROUP
from nova_hookspec.deferred import health as _health


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
                "order": [{**asdict(step),
                           "deferred": (step.plugin, hook_name) in pm.deferred}
                          for step in run_order(pm, hook_name)],
            })
    return result


def _mark(step: Step, deferred: bool) -> str:
    marks = [step.kind]
    if deferred:
        marks.append("deferred")
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
        steps = [(Step(**{k: v for k, v in s.items() if k != "deferred"}), s["deferred"])
                 for s in entry["order"]]
        lines.append(f"  {entry['phase']:<5} {entry['hook']}")
        plugins = [(s, deferred) for s, deferred in steps if s.kind != "nova"]
        if not plugins:
            lines.append("        (no plugin)")
        for n, (step, deferred) in enumerate(plugins, start=1):
            lines.append(f"        {n}. {step.plugin}  [{_mark(step, deferred)}]")
        if entry["phase"] == "call" and plugins:
            lines.append("        -> Nova's callable, innermost")
    lines.append("known_instances  (nova-hookspec reconcile: what a plugin's system holds)")
    lines += [f"        {plugin}" for plugin in listers(pm)] or ["        (no plugin)"]
    return "\n".join(lines)


def listers(pm: NovaPluginManager) -> list[str]:
    """The plugins that implement ``known_instances`` (reconcile lists them)."""
    return sorted(impl.plugin_name for impl in pm.hook.known_instances.get_hookimpls())


LIST_SCHEMA = "nova-hookspec/list/1"
CHECK_SCHEMA = "nova-hookspec/check/1"


def list_document(pm: NovaPluginManager) -> dict[str, Any]:
    """``list --json``: :func:`listing` with the schema and version (``schemas/list.schema.json``)."""
    return {"schema": LIST_SCHEMA, "version": __version__, "hooks": listing(pm),
            "known_instances": listers(pm)}


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
    deferred = _health.report(pm)
    said = any(warning in str(deferred["problem"]) for warning in warnings)  # a file's problem
    if deferred["plugins"] and not deferred["healthy"] and not said:
        what = ("the deferred settings are refused" if deferred["journal"] is None else
                f"the deferred jobs' journal {deferred['journal']} cannot be used")
        warnings.append(f"{what} ({deferred['problem']}): the hooked calls would run the "
                        "deferred plugins in the call")
    if deferred["dead"]:
        warnings.append(f"{deferred['dead']} deferred job(s) are dead "
                        "(nova-hookspec deferred list --dead)")
    on = deferred.get("broker")
    if on and not on["reachable"]:
        warnings.append(f"{on['problem']}: the jobs wait in this host's outbox")
    elif on and on["dead"]:
        warnings.append(f"{on['dead']} deferred job(s) are dead on the broker "
                        "(nova-hookspec deferred list --dead)")
    warnings.extend((on or {}).get("disagreements") or ())
    return {"schema": CHECK_SCHEMA, "version": __version__,
            "status": 1 if broken or warnings or failed else 0,
            "plugins": plugins, "warnings": warnings, "smoke": calls, "deferred": deferred}


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
    deferred = document.get("deferred") or {}
    for item in deferred.get("plugins", ()):
        lines.append(f"deferred {item['plugin']} {item['hook']}{_health.policy_text(item)}")
    if deferred.get("plugins"):
        where = (f"journal {deferred['journal']}" if deferred["journal"] is not None
                 else "deferred settings")  # refused before a journal could be named
        dead = deferred["dead"] or 0  # a journal with spooled jobs only: none dead yet
        lines.append(f"{where}: "
                     + ("ok" if deferred["healthy"] else "UNUSABLE (the warning above)")
                     + (f", {deferred['pending']} pending, {dead} dead"
                        if deferred.get("pending") is not None else
                        ", not created yet (the first deferred job creates it)"
                        if deferred["healthy"] else ""))
        on = deferred.get("broker")
        if on:  # an unreachable broker's problem names it already
            lines.append(f"broker {on['broker']}: ok, {on['dead']} dead" if on["reachable"]
                         else str(on["problem"]))
    count = {state: sum(p["state"] == state for p in document["plugins"])
             for state in ("ok", "broken", "blocked")}
    failed = sum(c["outcome"] == "failed" for c in document["smoke"] or ())
    lines.append(
        f"{count['ok']} plugin(s) ok, {count['broken']} broken, {count['blocked']} blocked, "
        f"{len(document['warnings'])} warning(s)"
        + (f", {failed} smoke call(s) failed" if document["smoke"] is not None else "")
    )
    return "\n".join(lines)
