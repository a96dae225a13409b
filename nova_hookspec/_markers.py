"""The pluggy markers of the ``nova_hookspec`` project."""

from __future__ import annotations

from typing import Final

import pluggy

#: The pluggy project name: markers set ``nova_hookspec_spec`` and
#: ``nova_hookspec_impl`` attributes, and the typed entry-point group has the
#: same name.
PROJECT_NAME: Final = "nova_hookspec"

#: The entry-point group of typed plugins.
TYPED_GROUP: Final = "nova_hookspec"

#: The entry-point group of classic ``nova.hooks`` pre/post classes.
LEGACY_GROUP: Final = "nova.hooks"

#: Marks a hook specification (used by :mod:`nova_hookspec.hookspecs`).
hookspec: Final = pluggy.HookspecMarker(PROJECT_NAME)

#: Marks a hook implementation in a typed plugin.
hookimpl: Final = pluggy.HookimplMarker(PROJECT_NAME)
