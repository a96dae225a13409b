"""Mapping a hooked callable's arguments onto a hook point's spec names.

The plan is worked out once per decorated callable, from its signature; a
call then costs a dict copy and one pass over the arguments it received.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from nova_hookspec._points import HookPoint

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class ArgumentPlan:
    """How one callable's ``(args, kwargs)`` become a hook's keyword arguments.

    * the callable's first positional parameter is the point's hooked object
      (``compute_api``, ``compute_manager``, ``network_api``);
    * the others map by name, after the point's renames
      (``instance_type`` -> ``flavor``); a parameter the spec lacks is only
      in ``args``/``kwargs``;
    * a spec argument the caller omitted takes the callable's own default,
      else the spec's documented default.
    """

    __slots__ = ("defaults", "keyword", "positional")

    def __init__(self, point: HookPoint, function: Callable[..., Any]) -> None:
        spec_names = {arg.name for arg in point.arguments}
        defaults: dict[str, object] = {arg.name: arg.default for arg in point.arguments}
        positional: list[str | None] = []
        keyword: dict[str, str] = {}
        # A callable taking **kwargs (or with no readable signature) may get any
        # spec argument, or an old name of one, by keyword.
        open_keywords = True
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            signature = None
        if signature is not None:
            open_keywords = any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()
            )
            for index, param in enumerate(signature.parameters.values()):
                if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                    continue
                if index == 0 and param.kind in _POSITIONAL and point.hooked_object:
                    name = point.hooked_object
                else:
                    name = point.renames.get(param.name, param.name)
                spec_name = name if name in spec_names else None
                if param.kind in _POSITIONAL:
                    positional.append(spec_name)
                if spec_name is None:
                    continue
                if param.kind is not inspect.Parameter.POSITIONAL_ONLY:
                    keyword[param.name] = spec_name
                if param.default is not inspect.Parameter.empty:
                    defaults[spec_name] = param.default
        if open_keywords:
            for name in spec_names:
                keyword.setdefault(name, name)
            for old, new in point.renames.items():
                keyword.setdefault(old, new)
        # Trailing positions that map to nothing need no slot.
        while positional and positional[-1] is None:
            positional.pop()
        self.defaults: Mapping[str, object] = defaults
        self.positional: tuple[str | None, ...] = tuple(positional)
        self.keyword: Mapping[str, str] = keyword

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The hook keyword arguments of one call: spec names, ``args``, ``kwargs``."""
        bound = dict(self.defaults)
        for name, value in zip(self.positional, args):
            if name is not None:
                bound[name] = value
        if kwargs:
            keyword = self.keyword
            for key, value in kwargs.items():
                name = keyword.get(key)
                if name is not None:
                    bound[name] = value
        bound["args"] = args
        bound["kwargs"] = kwargs
        return bound
