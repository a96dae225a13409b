"""The run order of a hook's implementations.

nova_hookspec orders implementations itself, the same way on every pluggy
release, and stores the result in pluggy's lists (:mod:`_pluggy`), so that
``get_hookimpls()``, ``nova-hookspec list`` and the executor all see it.

The rule, first to run first:

1. wrappers before (that is: around) plain implementations;
2. within each, ``tryfirst``, then plain, then ``trylast`` (an implementation
   marked both counts as ``trylast``, as in pluggy);
3. within each of those classes:

   * among ``tryfirst`` and plain ones: plugins registered in code, the
     latest registered first (pluggy's rule), then entry-point plugins in
     discovery order;
   * among ``trylast`` ones: entry-point plugins in discovery order, then
     plugins registered in code, the earliest registered first.

An operator's ``NOVA_HOOKSPEC_TRYFIRST``/``TRYLAST`` (:mod:`_controls`) puts a
plugin's implementations in that class whatever their own marks say.

Entry-point plugins are placed by their discovery position, not by when they
were loaded, so the order is the same whichever hook point is called first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from nova_hookspec import _pluggy

TRYFIRST, PLAIN, TRYLAST = 0, 1, 2


class Origin(NamedTuple):
    """Where a plugin's place comes from.

    :param position: its discovery position (entry-point plugins), else ``None``.
    :param seq: when it was registered (a counter per manager).
    :param placement: the operator's tryfirst/trylast for it, by hook point
        name (``*``: every point); it wins over the plugin's own marks.
    """

    position: int | None
    seq: int
    placement: Mapping[str, str] = {}


def mark_class(opts: dict[str, Any]) -> int:
    """``TRYFIRST``, ``PLAIN`` or ``TRYLAST`` for an implementation's options."""
    if opts.get("trylast"):
        return TRYLAST
    return TRYFIRST if opts.get("tryfirst") else PLAIN


_PLACED = {"tryfirst": TRYFIRST, "trylast": TRYLAST}


def sort_key(impl: Any, origin: Origin, point: str) -> tuple[int, int, int, int]:
    """The key that sorts implementations of hook point ``point`` into run order."""
    placed = origin.placement.get(point) or origin.placement.get("*")
    cls = _PLACED[placed] if placed else mark_class(impl.opts)
    if origin.position is not None:
        sub = (0, origin.position) if cls == TRYLAST else (1, origin.position)
    else:
        sub = (1, origin.seq) if cls == TRYLAST else (0, -origin.seq)
    return (0 if _pluggy.is_wrapper(impl) else 1, cls, *sub)


def run_order(
    impls: Sequence[Any], origin_of: Callable[[str], Origin], point: str
) -> list[Any]:
    """``impls`` (of hook point ``point``) in the order they start running."""
    return sorted(impls, key=lambda impl: sort_key(impl, origin_of(impl.plugin_name), point))
