"""Exceptions, and which exceptions count as fatal."""

from __future__ import annotations

import pluggy


class FatalHookException(Exception):  # noqa: N818 - the name Nova gave it
    """Raised by a plugin to stop the hooked Nova operation.

    Any other exception a plugin raises is logged and ignored: the Nova call
    goes on as if that plugin were absent. This one is logged and re-raised;
    raised from a ``*_pre`` observer it stops the call before Nova's code
    runs.
    """


class PluginValidationError(pluggy.PluginValidationError):
    """A plugin does not fit the hooks it names.

    The message names the plugin, the hook and, for a typo, the nearest valid
    hook or argument name.
    """


class HookDeclarationError(ValueError):
    """A hook name passed to :func:`nova_hookspec.add_hook` cannot be used."""


_fatal_types: tuple[type[BaseException], ...] = (FatalHookException,)


def fatal_types() -> tuple[type[BaseException], ...]:
    """The exception classes that stop a hooked call when a plugin raises them."""
    return _fatal_types


def add_fatal_type(exc_type: type[BaseException]) -> None:
    """Count ``exc_type`` as fatal too (Nova <= 21's own FatalHookException)."""
    global _fatal_types
    if exc_type not in _fatal_types:
        _fatal_types = (*_fatal_types, exc_type)


for _cls in (FatalHookException, PluginValidationError, HookDeclarationError):
    _cls.__module__ = "nova_hookspec"
