"""Classic ``nova.hooks`` pre/post classes as pluggy hookimpls.

One instance per entry point (Nova instantiated each class once per hook
name), adapted into a plain impl on ``NAME_pre`` and one on ``NAME_post``,
both with the same tryfirst/trylast marks: that gives a legacy class one
place in the order, the same in both phases, among typed plugins.

The class is called exactly as Nova called it: ``pre(*args, **kwargs)`` and
``post(rv, *args, **kwargs)``, or with the hooked function first when the
hooked callable was decorated with ``add_hook(name, pass_function=True)``.

A class may declare ``tryfirst = True`` or ``trylast = True`` itself; to
order one without editing it, an operator names it in ``NOVA_HOOKSPEC_TRYFIRST``
or ``NOVA_HOOKSPEC_TRYLAST`` (:mod:`nova_hookspec._plugins.controls`), which wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nova_hookspec._spec import points as _points
from nova_hookspec._spec.markers import IMPL_DEFAULTS, LEGACY_GROUP, PROJECT_NAME, TYPED_GROUP

if TYPE_CHECKING:
    from nova_hookspec._call.decorated import Decorated

class LegacyHook:
    """A ``nova.hooks`` class instance, registered as a nova_hookspec plugin."""

    def __init__(
        self, point: _points.HookPoint, obj: object, *, tryfirst: bool = False, trylast: bool = False
    ) -> None:
        pre = getattr(obj, "pre", None)
        post = getattr(obj, "post", None)
        if not callable(pre) and not callable(post):
            raise TypeError(f"{obj!r} has neither a 'pre' nor a 'post' method{_typed_hint(obj)}")
        self.point = point
        self.obj = obj
        #: The class's own methods by phase, which the fast observer loop calls directly.
        self.methods: dict[_points.Phase, Callable[..., Any]] = {}
        self.tryfirst = tryfirst
        self.trylast = trylast
        #: The hookimpl options of both its implementations (the manager reads
        #: them here; the functions carry no marker).
        self.opts = {**IMPL_DEFAULTS, "tryfirst": tryfirst, "trylast": trylast}
        if callable(pre):
            setattr(self, point.hook_name("pre"), _pre_caller(pre))
            self.methods["pre"] = pre
        if callable(post):
            setattr(self, point.hook_name("post"), _post_caller(post))
            self.methods["post"] = post
        #: The hooks this adapter implements.
        self.hook_names = frozenset(point.hook_name(phase) for phase in self.methods)

    @classmethod
    def from_entry_point(cls, hook: str, loaded: object) -> LegacyHook:
        """Instantiate ``loaded`` (as Nova did, with no arguments) for hook ``hook``."""
        point = _points.declare(hook)
        if not callable(loaded):
            raise TypeError(f"{loaded!r} is not a class{_typed_hint(loaded)}")
        obj = loaded()
        tryfirst = bool(getattr(obj, "tryfirst", False))
        trylast = bool(getattr(obj, "trylast", False))
        return cls(point, obj, tryfirst=tryfirst, trylast=trylast)

    def __repr__(self) -> str:
        return f"<legacy {self.point.name} hook {self.obj!r}>"

    def hookimpls(self) -> list[tuple[str, str, Any, dict[str, Any]]]:
        """Its hookimpls, as :func:`nova_hookspec._plugins.validation.hookimpls_of` lists them."""
        return [(name, name, getattr(self, name), dict(self.opts))
                for name in sorted(self.hook_names)]


def _pre_caller(method: Callable[..., Any]) -> Callable[..., None]:
    def pre(args: tuple[Any, ...], kwargs: dict[str, Any], _hooked: Decorated | None = None) -> None:
        if _hooked is not None and _hooked.pass_function:
            method(_hooked.function, *args, **kwargs)
        else:
            method(*args, **kwargs)

    return pre


def _post_caller(method: Callable[..., Any]) -> Callable[..., None]:
    def post(
        result: object,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        _hooked: Decorated | None = None,
    ) -> None:
        if _hooked is not None and _hooked.pass_function:
            method(_hooked.function, result, *args, **kwargs)
        else:
            method(result, *args, **kwargs)

    return post


def _typed_hint(obj: object) -> str:
    """Where an object with ``@hookimpl`` functions belongs, if it has any."""
    marker = f"{PROJECT_NAME}_impl"
    try:
        marked = any(hasattr(getattr(obj, name, None), marker) for name in dir(obj))
    except Exception:  # noqa: BLE001 - a hostile object: no hint
        return ""
    if not marked:
        return ""
    return ("; it has @hookimpl functions: a typed plugin is declared in the "
            f"{TYPED_GROUP!r} entry-point group, not {LEGACY_GROUP!r}")
