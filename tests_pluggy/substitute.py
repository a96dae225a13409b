"""pytest plugin: pluggy's own tests with nova_hookspec's manager in place of
pluggy's ``PluginManager`` (``-p substitute``, loaded before their modules)."""

from __future__ import annotations

import pluggy

from nova_hookspec._plugins.manager import NovaPluginManager

pluggy.PluginManager = NovaPluginManager  # type: ignore[misc]
