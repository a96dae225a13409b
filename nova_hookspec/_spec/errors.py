"""The exceptions nova_hookspec raises, and the one plugins raise to stop a call."""

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


for _cls in (FatalHookException, PluginValidationError, HookDeclarationError):
    _cls.__module__ = "nova_hookspec"
