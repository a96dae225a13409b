"""What the lower modules of the call model know of a decorated callable.

:class:`~nova_hookspec._call.hooked.HookedFunction` is the one kind of
decorated callable; the dispatch plan, the runner writer and the legacy
adapter need a few of its attributes only. They name them here, so that they
sit below :mod:`.hooked` instead of in a circle with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Protocol, Tuple

if TYPE_CHECKING:
    from nova_hookspec._call.binding import ArgumentPlan
    from nova_hookspec._spec.points import HookPoint

#: ``run(args, kwargs)`` -> what the caller gets (typing.Tuple/Dict: a runtime alias on 3.8).
Runner = Callable[[Tuple[Any, ...], Dict[str, Any]], Any]


class Decorated(Protocol):
    """A callable decorated with ``add_hook``, as the call model sees it."""

    point: HookPoint
    function: Callable[..., Any]
    pass_function: bool
    plan: ArgumentPlan
    install: Callable[[Runner | None], None] | None

    def replan(self) -> None:
        """Drop the runner written for the last plan: the next call plans again."""
