"""The run order of a hook's implementations.

nova_hookspec orders implementations itself, the same way on every pluggy
release, and stores the result in pluggy's lists (:mod:`_pluggy`), so that
``get_hookimpls()``, ``nova-hookspec list`` and the executor all see it.

**The base order**, first to run first:

1. wrappers before (that is: around) plain implementations;
2. within each, ``tryfirst``, then plain, then ``trylast`` (an implementation
   marked both counts as ``trylast``, as in pluggy); an operator's
   ``tryfirst``/``trylast`` list wins over the plugin's own marks;
3. within each of those classes: among ``tryfirst`` and plain ones, plugins
   registered in code, the latest first (pluggy's rule), then entry-point
   plugins in discovery order; among ``trylast`` ones, entry-point plugins in
   discovery order, then plugins registered in code, the earliest first.

**Explicit order** then moves implementations as little as needed to satisfy
"A runs before B" constraints, among wrappers and among plain
implementations separately, by strength:

1. the operator's order for this hook point (``order = create_instance=a, ...``);
2. the operator's order for every point (``order = ldap, dns, audit``);
3. plugins' own ``before=``/``after=`` declarations on their hookimpls.

Named plugins run in the given order relative to each other; every other
implementation keeps its base-order place as far as the constraints allow (a
stable topological sort: whenever several could run next, the one earliest
in the base order does). A constraint that contradicts stronger ones (it
would close a cycle) is dropped and reported once, naming the plugins of the
cycle; the order is then what the remaining constraints give. No
implementation is ever dropped.

Entry-point plugins are placed by their discovery position, not by when they
were loaded, so the order is the same whichever hook point is called first.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable, NamedTuple

from nova_hookspec._plugins.controls import name_key
from nova_hookspec._seams import pluggy_api as _pluggy

log = logging.getLogger("nova_hookspec")

TRYFIRST, PLAIN, TRYLAST = 0, 1, 2
_PLACED = {"tryfirst": TRYFIRST, "trylast": TRYLAST}

OPERATOR_POINT, OPERATOR_ALL, DECLARED = "operator order for the hook point", \
    "operator order", "declared by the plugin"


class Origin(NamedTuple):
    """Where a plugin's place comes from.

    :param position: its discovery position (entry-point plugins), else ``None``.
    :param seq: when it was registered (a counter per manager).
    :param placement: the operator's tryfirst/trylast for it, by hook point
        name (``*``: every point); it wins over the plugin's own marks.
    """

    position: int | None
    seq: int
    placement: Mapping[str, str]


class Placed(NamedTuple):
    """One implementation in run order, and the explicit rule that put it there
    (``""`` for the base order)."""

    impl: Any
    rule: str


class Conflict(NamedTuple):
    """A dropped constraint: the plugins of the cycle it would have closed, and
    where the constraint came from."""

    cycle: tuple[str, ...]
    source: str


def mark_class(opts: Mapping[str, Any]) -> int:
    """``TRYFIRST``, ``PLAIN`` or ``TRYLAST`` for an implementation's options."""
    if opts.get("trylast"):
        return TRYLAST
    return TRYFIRST if opts.get("tryfirst") else PLAIN


def _class_of(impl: Any, origin: Origin, point: str) -> tuple[int, str]:
    placed = origin.placement.get(point) or origin.placement.get("*")
    if placed:
        return _PLACED[placed], f"{placed} (operator)"
    cls = mark_class(impl.opts)
    return cls, ("tryfirst", "", "trylast")[cls]


def base_key(impl: Any, origin: Origin, point: str) -> tuple[int, int, int, int]:
    """The key that sorts implementations of hook point ``point`` into base order."""
    cls, _ = _class_of(impl, origin, point)
    if origin.position is not None:
        sub = (0, origin.position) if cls == TRYLAST else (1, origin.position)
    else:
        sub = (1, origin.seq) if cls == TRYLAST else (0, -origin.seq)
    return (0 if _pluggy.is_wrapper(impl) else 1, cls, *sub)


def base_rule(impl: Any, origin: Origin, point: str) -> str:
    """The base-order rule that places ``impl`` (marks, then discovery or registration)."""
    _, mark = _class_of(impl, origin, point)
    where = (f"discovery order #{origin.position + 1}" if origin.position is not None
             else "registered in code")
    return f"{mark}, {where}" if mark else where


def _chains_to_edges(chains: Iterable[Sequence[str]]) -> list[tuple[str, str]]:
    edges: list[tuple[str, str]] = []
    for chain in chains:
        edges.extend(zip(chain, chain[1:]))
    return edges


class _Graph:
    """Precedence between the indices of one group, cycle-free by construction."""

    def __init__(self, size: int) -> None:
        self.after: list[set[int]] = [set() for _ in range(size)]

    def path(self, start: int, goal: int) -> list[int] | None:
        """A path ``start -> ... -> goal`` along existing edges, if any."""
        stack, seen = [(start, [start])], {start}
        while stack:
            node, trail = stack.pop()
            if node == goal:
                return trail
            for nxt in self.after[node]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
        return None

    def add(self, first: int, then: int) -> list[int] | None:
        """Add ``first -> then``; return the cycle it would close instead, if any."""
        if first == then:
            return None
        back = self.path(then, first)
        if back is not None:
            return [*back, then]
        self.after[first].add(then)
        return None

    def order(self) -> list[int]:
        """Indices in a stable topological order (ties: the smaller index first)."""
        waiting = [0] * len(self.after)
        for targets in self.after:
            for target in targets:
                waiting[target] += 1
        ready = [i for i, count in enumerate(waiting) if count == 0]
        heapq.heapify(ready)
        found = []
        while ready:
            node = heapq.heappop(ready)
            found.append(node)
            for target in self.after[node]:
                waiting[target] -= 1
                if waiting[target] == 0:
                    heapq.heappush(ready, target)
        return found


def run_order(
    impls: Sequence[Any],
    origin_of: Callable[[str], Origin],
    point: str,
    operator_chains: Mapping[str, Sequence[Sequence[str]]] | None = None,
    keys_of: Callable[[str], frozenset[str]] = lambda name: frozenset({name}),
) -> tuple[list[Placed], list[Conflict]]:
    """``impls`` of hook point ``point`` in the order they start running.

    :param operator_chains: the operator's order, ``{OPERATOR_POINT: [...],
        OPERATOR_ALL: [...]}``, each a list of chains of plugin names.
    :param keys_of: every name an operator or another plugin may use for a
        plugin (asked only when something names plugins).
    :returns: the implementations with the explicit rule that moved each
        (``""``: the base order placed it, :func:`base_rule` says how), and
        the dropped constraints.
    """
    origins = {impl.plugin_name: origin_of(impl.plugin_name) for impl in impls}
    base = sorted(impls, key=lambda i: base_key(i, origins[i.plugin_name], point))
    placed: list[Placed] = []
    conflicts: list[Conflict] = []
    for group in (
        [i for i in base if _pluggy.is_wrapper(i)],
        [i for i in base if not _pluggy.is_wrapper(i)],
    ):
        ordered, rules, dropped = _constrain(group, keys_of, operator_chains or {})
        placed.extend(Placed(impl, rules.get(id(impl), "")) for impl in ordered)
        conflicts.extend(dropped)
    return placed, conflicts


def _constrain(
    group: list[Any],
    keys_of: Callable[[str], frozenset[str]],
    operator_chains: Mapping[str, Sequence[Sequence[str]]],
) -> tuple[list[Any], dict[int, str], list[Conflict]]:
    sources: list[tuple[str, list[tuple[str, str]]]] = [
        (OPERATOR_POINT, _chains_to_edges(operator_chains.get(OPERATOR_POINT, ()))),
        (OPERATOR_ALL, _chains_to_edges(operator_chains.get(OPERATOR_ALL, ()))),
        (DECLARED, _declared_edges(group)),
    ]
    if not any(edges for _, edges in sources):  # nothing named: the base order
        return list(group), {}, []
    by_key: dict[str, list[int]] = {}
    for index, impl in enumerate(group):
        for key in keys_of(impl.plugin_name):
            by_key.setdefault(key, []).append(index)
    graph = _Graph(len(group))
    rules: dict[int, str] = {}
    dropped: list[Conflict] = []
    for source, edges in sources:
        for first, then in edges:
            for a in by_key.get(name_key(first), ()):
                for b in by_key.get(name_key(then), ()):
                    cycle = graph.add(a, b)
                    if cycle is not None:
                        names = tuple(group[i].plugin_name for i in cycle)
                        dropped.append(Conflict(names, source))
                        continue
                    for index in (a, b):
                        rules.setdefault(id(group[index]), source)
    ordered = [group[i] for i in graph.order()]
    return ordered, rules, dropped


def _declared_edges(group: Sequence[Any]) -> list[tuple[str, str]]:
    """``before=``/``after=`` of each implementation, as (first, then) name pairs."""
    edges: list[tuple[str, str]] = []
    for impl in group:
        me = impl.plugin_name
        edges.extend((me, other) for other in impl.opts.get("before") or ())
        edges.extend((other, me) for other in impl.opts.get("after") or ())
    return edges


def report_conflict(reported: set[tuple[str, tuple[str, ...]]], hook_name: str,
                    conflict: Conflict) -> None:
    """Log an order conflict once (``reported`` remembers which were)."""
    key = (conflict.source, tuple(sorted(set(conflict.cycle))))
    if key in reported:
        return
    reported.add(key)
    log.error(
        "nova_hookspec order conflict in hook %r (and any other hook these plugins "
        "share): a constraint (%s) would close the cycle %s; it is ignored (stronger "
        "ones win: the operator's order for a hook point, then for all points, then "
        "plugins' before/after) and every plugin still runs once",
        hook_name, conflict.source, " -> ".join(conflict.cycle))

