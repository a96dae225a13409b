"""``nova-hookspec check --smoke``: call every installed plugin's hooks once.

Loading a plugin proves little: a Python 2 ``print >>fd`` imports fine on
Python 3 and raises on every call. The smoke run calls each implementation
of each typed hook point once, with stand-in Nova objects
(:mod:`nova_hookspec._nova.standins`) and the arguments Nova passes, without Nova
installed (real ``nova.objects`` when Nova is importable) and without
running Nova's code: observers are called, wrappers
driven through their ``yield`` with a stand-in result, legacy classes'
``pre``/``post`` called as Nova calls them, a deferred observer itself (as
the worker calls it), not the job writer the hooked call runs in its place.
What raises is reported; "ok" means the plugin's own code ran and returned.
Nothing reaches the host's journal (:func:`scratch_journal`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nova_hookspec._call.binding import ArgumentPlan
from nova_hookspec._call.executor import impl_arguments
from nova_hookspec._call.policy import describe_exception, is_fatal
from nova_hookspec._nova import standins as _standins
from nova_hookspec._plugins.controls import SETTING_ENVS
from nova_hookspec._seams import pluggy_api as _pluggy
from nova_hookspec._spec import points as _points
from nova_hookspec.deferred import enqueue
from nova_hookspec.deferred.jobs import Delivery

if TYPE_CHECKING:
    from nova_hookspec._plugins.manager import NovaPluginManager


@dataclass(frozen=True)
class SmokeResult:
    """One implementation called once.

    :param plugin: the plugin's registered name.
    :param hook: the hook it implements.
    :param outcome: ``ok``, ``fatal`` (it raised FatalHookException: it would
        stop the call, which may be its purpose) or ``failed``.
    :param detail: what it raised, if it raised.
    """

    plugin: str
    hook: str
    outcome: str
    detail: str = ""


@contextlib.contextmanager
def scratch_journal() -> Iterator[str]:
    """While the block runs, deferred jobs go to a journal of their own in a
    temporary folder, removed after it: ``check --smoke`` and ``demo`` call hooks
    with stand-in instances, whose jobs must never reach the host's real journal
    (a worker would run them against the real inventory)."""
    variable = SETTING_ENVS["journal"]
    saved = os.environ.get(variable)
    with tempfile.TemporaryDirectory(prefix="nova-hookspec-scratch-") as folder:
        path = os.path.join(folder, "journal.sqlite")
        os.environ[variable] = path
        enqueue.use(None)
        try:
            yield path
        finally:
            enqueue.use(None)
            if saved is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = saved


def _call_deferred(pm: NovaPluginManager, impl: Any, hook: str,
                   values: dict[str, Any]) -> bool:
    """Call the deferred observer behind ``impl`` itself, as the worker would (the
    call would only write its job); whether ``impl`` was one."""
    record = pm.deferred.get((impl.plugin_name, hook))
    if record is None:
        return False
    kwargs = {name: values.get(name) for name in record.carried}
    if "delivery" in record.names:
        kwargs["delivery"] = Delivery("smoke:1", 1, time.time())
    record.function(**kwargs)
    return True


def _call_once(impl: Any, values: dict[str, Any], result: object) -> None:
    args, kwargs = impl_arguments(impl.argnames, impl.kwargnames, values)
    if not _pluggy.is_wrapper(impl):
        impl.function(*args, **kwargs)
        return
    gen = impl.function(*args, **kwargs)
    next(gen)
    sent = _pluggy.old_style_result(result, None) if impl.opts.get("hookwrapper") else result
    try:
        gen.send(sent)
    except StopIteration:
        return
    raise RuntimeError("wrapper yielded a second time")


def smoke_run(pm: NovaPluginManager) -> list[SmokeResult]:
    """Call each plugin implementation of the typed hook points once (a deferred
    observer itself, not its job writer), any job written going to a scratch
    journal."""
    pm.load_all()
    with scratch_journal():
        return _smoke_calls(pm)


def _smoke_calls(pm: NovaPluginManager) -> list[SmokeResult]:
    from nova_hookspec._plugins.manager import is_core_impl

    results = []
    try:
        samples = _standins.sample_calls(_standins.nova_objects())
    except Exception:  # noqa: BLE001 - a Nova that cannot make its objects: the stand-ins
        samples = _standins.sample_calls(_standins.StandinObjects())
    for point_name, (function, args, kwargs, result) in samples.items():
        point = _points.lookup(point_name)
        assert point is not None
        values = ArgumentPlan(point, function).bind(args, kwargs)
        for phase in _points.PHASES:
            hook_name = point.hook_name(phase)
            phase_values = {**values, "result": result} if phase == "post" else values
            for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
                if is_core_impl(impl):
                    continue
                try:
                    if not _call_deferred(pm, impl, hook_name, phase_values):
                        _call_once(impl, phase_values, result)
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # noqa: BLE001 - reported, that is the point
                    outcome = "fatal" if is_fatal(exc) else "failed"
                    results.append(SmokeResult(impl.plugin_name, hook_name, outcome,
                                               describe_exception(exc)))
                else:
                    results.append(SmokeResult(impl.plugin_name, hook_name, "ok"))
    return results
