"""Mapping a hooked callable's arguments onto a hook point's spec names.

The plan is worked out once per decorated callable, from its signature; a
call then costs a dict copy and one pass over the arguments it received.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Callable

from nova_hookspec._call.generated import generated_file
from nova_hookspec._spec.points import HookPoint

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

    __slots__ = ("bind", "defaults", "keyword", "positional")

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
        self.bind: Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]] = self._write()

    def _write(self) -> Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]]:
        """The binding function of this plan, written out (in the manner of
        ``dataclasses``): one dict display, an argument taken from its position
        when the call passed it, else its default; then the keywords.

        ``bind(args, kwargs)`` returns the hook keyword arguments of one call:
        spec names, ``args``, ``kwargs``.
        """
        namespace: dict[str, Any] = {"_keyword": self.keyword}
        items = []
        for index, name in enumerate(self.positional):
            if name is not None:
                namespace[f"d{index}"] = self.defaults[name]
                items.append(f"{name!r}: args[{index}] if n > {index} else d{index},")
        placed = set(self.positional)
        for extra, name in enumerate(n for n in self.defaults if n not in placed):
            namespace[f"e{extra}"] = self.defaults[name]
            items.append(f"{name!r}: e{extra},")
        source = "\n".join([
            "def bind(args, kwargs):",
            "    n = len(args)",
            "    bound = {",
            *(f"        {item}" for item in items),
            "        'args': args,",
            "        'kwargs': kwargs,",
            "    }",
            "    if kwargs:",
            "        for key, value in kwargs.items():",
            "            name = _keyword.get(key)",
            "            if name is not None:",
            "                bound[name] = value",
            "    return bound",
        ])
        exec(compile(source, generated_file("argument plan", source), "exec"), namespace)
        bind: Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]] = namespace["bind"]
        return bind
