"""Hooks of other projects on a nova_hookspec manager: pluggy's own rules.

:class:`~nova_hookspec._plugins.manager.NovaPluginManager` is a pluggy
``PluginManager``. Besides Nova's hook points it may carry hooks a plugin
adds with ``pm.add_hookspecs(...)`` (as pytest's ``pytest_addhooks`` lets a
plugin offer hooks to the others), and it may be made for another project
name. Implementations of such a hook - a *foreign* hook - are checked and
registered as pluggy does it: argument names against the specification
(``_verify_hook``: ``warn_on_impl``, historic hooks refusing wrappers), a
hook with no specification yet accepted (``check_pending`` reports it), and
a historic call replayed to a plugin registered after it. The error policy
stays nova_hookspec's (docs: ``pluggy-differences``).
"""

from __future__ import annotations

from typing import Any

import pluggy

from nova_hookspec._spec import points as _points
from nova_hookspec._spec.markers import PROJECT_NAME


def is_foreign(pm: pluggy.PluginManager, hook_name: str) -> bool:
    """Whether ``hook_name`` is no hook of Nova's points: a hook given a
    specification with ``add_hookspecs``, or any hook of a manager made for
    another project."""
    if _points.hook_phase(hook_name) is not None:
        return False
    if pm.project_name != PROJECT_NAME:
        return True
    if hook_name in _points.PLUGIN_HOOKS:  # ours, checked as ours (known_instances)
        return False
    hook = getattr(pm.hook, hook_name, None)
    return getattr(hook, "spec", None) is not None


def verify(pm: pluggy.PluginManager, hook: Any, impl: Any) -> None:
    """pluggy's checks of an implementation against its hook's specification
    (none when the hook has none yet)."""
    if getattr(hook, "spec", None) is not None:
        pm._verify_hook(hook, impl)


def replay_history(pm: pluggy.PluginManager, impls: list[tuple[Any, Any]]) -> None:
    """Give a plugin registered after a historic call that call, as pluggy does,
    implementation by implementation; a specification the replay adds (the
    plugin's hook adds hooks) is checked against the plugin's other
    implementations, which raises as pluggy's ``register`` would."""
    checked = {id(impl) for hook, impl in impls if getattr(hook, "spec", None) is not None}
    for hook, impl in impls:
        if id(impl) not in checked and getattr(hook, "spec", None) is not None:
            verify(pm, hook, impl)  # its hook got a specification meanwhile
            checked.add(id(impl))
        spec = getattr(hook, "spec", None)
        if spec is not None and spec.opts.get("historic"):
            hook._maybe_apply_history(impl)
