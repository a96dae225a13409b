"""The hook points: the four typed ones and custom names declared at run time.

Beside them, a few hooks belong to no point: a plugin implements them for a
command, not for a Nova call (:data:`PLUGIN_HOOKS`, ``known_instances`` for
``nova-hookspec reconcile``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from nova_hookspec._spec import arguments as _arguments
from nova_hookspec._spec.errors import HookDeclarationError

Phase = Literal["pre", "call", "post"]
PHASES: Final[tuple[Phase, ...]] = ("pre", "call", "post")


@dataclass(frozen=True)
class HookPoint:
    """A named place in Nova's code that plugins can hook.

    :param name: the hook point's name, also the name of its ``call`` hook.
    :param arguments: the typed arguments (empty for a custom name).
    :param renames: parameter names used by other Nova releases -> spec name.
    :param aliases: other names that reach this point (legacy entry-point
        names and ``add_hook`` names, such as ``build_instance``).
    :param nova_target: ``module:qualname`` of the Nova callable, if any.
    """

    name: str
    arguments: tuple[_arguments.Argument, ...] = ()
    renames: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    nova_target: str | None = None

    @property
    def typed(self) -> bool:
        """Whether the point has typed arguments (one of Nova's four)."""
        return bool(self.arguments)

    @property
    def hooked_object(self) -> str | None:
        """The spec name of the hooked callable's first parameter."""
        return self.arguments[0].name if self.arguments else None

    def hook_name(self, phase: Phase) -> str:
        """The pluggy hook name of ``phase``: ``NAME_pre``, ``NAME``, ``NAME_post``."""
        return self.name if phase == "call" else f"{self.name}_{phase}"

    @property
    def hook_names(self) -> tuple[str, str, str]:
        """The three hook names, in phase order."""
        return (self.hook_name("pre"), self.hook_name("call"), self.hook_name("post"))

    def hook_args(self, phase: Phase) -> tuple[str, ...]:
        """Every argument name a hookimpl of ``phase`` may ask for."""
        names = (*(a.name for a in self.arguments), "args", "kwargs")
        return ("result", *names) if phase == "post" else names


TYPED_POINTS: Final = (
    HookPoint(
        "create_instance",
        _arguments.CREATE_INSTANCE,
        _arguments.RENAMES["create_instance"],
        nova_target="nova.compute.api:API.create",
    ),
    HookPoint(
        "build_and_run_instance",
        _arguments.BUILD_AND_RUN_INSTANCE,
        aliases=("build_instance",),
        nova_target="nova.compute.manager:ComputeManager._do_build_and_run_instance",
    ),
    HookPoint(
        "delete_instance",
        _arguments.DELETE_INSTANCE,
        nova_target="nova.compute.manager:ComputeManager._delete_instance",
    ),
    HookPoint(
        "instance_network_info",
        _arguments.INSTANCE_NETWORK_INFO,
        nova_target="nova.network.neutron:update_instance_cache_with_nw_info",
    ),
)

#: Hooks of no hook point, called by a command: name -> the arguments an
#: implementation may ask for. Plain functions (a generator is fine: the
#: caller iterates the result), never wrapped nor deferred.
PLUGIN_HOOKS: Final[Mapping[str, tuple[str, ...]]] = {"known_instances": ()}

_lock = threading.Lock()
_points: dict[str, HookPoint] = {}
_by_name: dict[str, HookPoint] = {}  # point names and aliases
_by_hook: dict[str, tuple[HookPoint, Phase]] = {}


def _add(point: HookPoint) -> None:
    _points[point.name] = point
    for alias in (point.name, *point.aliases):
        _by_name[alias] = point
    for phase in PHASES:
        _by_hook[point.hook_name(phase)] = (point, phase)


for _point in TYPED_POINTS:
    _add(_point)


def lookup(name: str) -> HookPoint | None:
    """The point a hook-point name or alias refers to, if declared."""
    return _by_name.get(name)


def declare(name: str) -> HookPoint:
    """The point ``name`` refers to, declaring a custom point if it is new.

    :raises HookDeclarationError: for a name that is no identifier, or whose
        hooks would collide with another point's hooks (``x_pre`` when ``x``
        exists).
    """
    point = _by_name.get(name)
    if point is not None:
        return point
    with _lock:
        point = _by_name.get(name)
        if point is not None:
            return point
        if not name.isidentifier():
            raise HookDeclarationError(f"hook name {name!r} is not a Python identifier")
        if name.startswith("_"):
            raise HookDeclarationError(
                f"hook name {name!r} is refused: hook names may not start with '_' (they "
                "would name attributes of the hook relay, such as '__init__')")
        point = HookPoint(name)
        for hook in point.hook_names:
            other = _by_hook.get(hook) or (_by_name.get(hook) and (_by_name[hook], "call"))
            if other:
                owner, phase = other
                raise HookDeclarationError(
                    f"custom hook name {name!r} is refused: its hook {hook!r} is "
                    f"already the {phase} hook of hook point {owner.name!r}"
                )
        _add(point)
        return point


def points() -> tuple[HookPoint, ...]:
    """Every declared point: the typed ones first, then custom ones in order."""
    return tuple(_points.values())


def hook_phase(hook_name: str) -> tuple[HookPoint, Phase] | None:
    """The point and phase of a pluggy hook name."""
    return _by_hook.get(hook_name)


def hook_names() -> tuple[str, ...]:
    """Every valid hook name, for nearest-name suggestions."""
    return (*_by_hook, *PLUGIN_HOOKS)
