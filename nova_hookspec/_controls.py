"""Operator controls: which installed plugins may load.

Environment variables (read at each discovery)::

    NOVA_HOOKSPEC_DISABLE_AUTOLOAD=1      load no entry point; only what code registers
    NOVA_HOOKSPEC_DISABLE=acme-ipam-hooks,acme_audit:Hook   never load these
    NOVA_HOOKSPEC_PLUGINS=acme-inventory                    load only these

An item names a distribution (``acme-ipam-hooks``; case, ``-``, ``_`` and
``.`` do not matter) or an entry-point value (``acme_ipam_hooks:Register``).
The same controls exist as Python API: :func:`configure`, whose values win
over the environment. A blocked plugin is never imported; the log says
which and why.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

AUTOLOAD_ENV = "NOVA_HOOKSPEC_DISABLE_AUTOLOAD"
DISABLE_ENV = "NOVA_HOOKSPEC_DISABLE"
ALLOW_ENV = "NOVA_HOOKSPEC_PLUGINS"

@dataclass(frozen=True)
class Controls:
    """The controls in force for one discovery."""

    autoload: bool
    disable: frozenset[str]
    allow: frozenset[str] | None

    def refusal(self, distribution: str | None, value: str) -> str | None:
        """Why a plugin may not load (``None``: it may)."""
        keys = {value}
        if distribution:
            keys.add(normalize(distribution))
        if not self.autoload:
            return f"entry points are not loaded ({AUTOLOAD_ENV} or configure(autoload=False))"
        if keys & self.disable:
            return f"disabled ({DISABLE_ENV} or configure(disable=...))"
        if self.allow is not None and not keys & self.allow:
            return f"not in the allow list ({ALLOW_ENV} or configure(allow=...))"
        return None


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _items(text: str) -> frozenset[str]:
    items = (item.strip() for item in text.split(","))
    return frozenset(item if ":" in item else normalize(item) for item in items if item)


_api_autoload: bool | None = None
_api_disable: frozenset[str] | None = None
_api_allow: frozenset[str] | None = None


def configure(
    *,
    autoload: bool | None = None,
    disable: Iterable[str] | None = None,
    allow: Iterable[str] | None = None,
) -> None:
    """Set the operator controls in code (they win over the environment).

    Takes effect at the next discovery (call :func:`nova_hookspec.reset` to
    rediscover now). Passing ``None`` for a control leaves it to the
    environment.

    :param autoload: ``False`` loads no entry point.
    :param disable: distributions or entry-point values never to load.
    :param allow: if given, only these load.
    """
    global _api_autoload, _api_disable, _api_allow
    _api_autoload = autoload
    _api_disable = None if disable is None else _items(",".join(disable))
    _api_allow = None if allow is None else _items(",".join(allow))


def current() -> Controls:
    """The controls in force now: :func:`configure`'s, else the environment's."""
    autoload = (
        _api_autoload
        if _api_autoload is not None
        else os.environ.get(AUTOLOAD_ENV, "").strip() in ("", "0")
    )
    disable = _api_disable if _api_disable is not None else _items(os.environ.get(DISABLE_ENV, ""))
    allow = _api_allow
    if allow is None and os.environ.get(ALLOW_ENV) is not None:
        allow = _items(os.environ[ALLOW_ENV])
    return Controls(autoload, disable, allow)
