"""nova_hookspec: typed pluggy hooks for OpenStack Nova's instance lifecycle.

Public names::

    from nova_hookspec import hookspec, hookimpl       # pluggy markers
    from nova_hookspec import add_hook                 # drop-in for nova.hooks.add_hook
    from nova_hookspec import FatalHookException
    from nova_hookspec import get_plugin_manager, reset
    from nova_hookspec import compat                   # drop-in for the nova.hooks module
    from nova_hookspec import attach_nova, detach_nova # the hook points in a real Nova
"""

from __future__ import annotations

#: The version of nova_hookspec (the one place it is written).
__version__ = "0.2.0"

from nova_hookspec import compat, hookspecs
from nova_hookspec._call.hooked import HookedFunction, add_hook
from nova_hookspec._nova.attach import AttachError, Attachment, attach_nova, detach_nova
from nova_hookspec._plugins.controls import configure
from nova_hookspec._plugins.info import PluginInfo
from nova_hookspec._plugins.manager import NovaPluginManager
from nova_hookspec._plugins.process import get_plugin_manager, reset
from nova_hookspec._spec.errors import (
    FatalHookException,
    HookDeclarationError,
    PluginValidationError,
)
from nova_hookspec._spec.markers import LEGACY_GROUP, PROJECT_NAME, TYPED_GROUP, hookimpl, hookspec
from nova_hookspec.deferred import Delivery, Retry

__all__ = [
    "LEGACY_GROUP",
    "PROJECT_NAME",
    "TYPED_GROUP",
    "AttachError",
    "Attachment",
    "Delivery",
    "FatalHookException",
    "HookDeclarationError",
    "HookedFunction",
    "NovaPluginManager",
    "PluginInfo",
    "PluginValidationError",
    "Retry",
    "__version__",
    "add_hook",
    "attach_nova",
    "compat",
    "configure",
    "detach_nova",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "hookspecs",
    "reset",
]
