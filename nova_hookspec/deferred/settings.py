"""The deferred machinery's options, their defaults, and where they are read.

Each option is read, first source wins, from the environment
(``NOVA_HOOKSPEC_<NAME>``), then the ``[nova_hookspec]`` group of the
service's configuration files, then the default:

========================  ===========================================  ==========
option                    meaning                                      default
========================  ===========================================  ==========
``journal``               the journal file of this host                see below
``journal_sync``          SQLite ``synchronous``: ``full``/``normal``  ``full``
``max_attempts``          runs before a job goes to the dead letters   10
``retry_min_backoff``     seconds before the first retry               1.0
``retry_max_backoff``     longest wait between two runs, seconds       600.0
``lease``                 seconds a claimed job stays with its worker  30.0
========================  ===========================================  ==========

The journal's default is ``nova_hookspec-journal.sqlite`` under Nova's
``state_path`` when the service parsed its configuration, else under
``/var/lib/nova`` (and the current directory when that does not exist).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from nova_hookspec._plugins import config as _config
from nova_hookspec._plugins.controls import SETTING_ENVS

JOURNAL_NAME = "nova_hookspec-journal.sqlite"

#: Each setting's type and default, as the ``[nova_hookspec]`` options declare them.
_DECLARED: dict[str, tuple[Any, Any]] = {
    name: ({"str": str, "int": int, "float": float}[kind], default)
    for name, kind, default, _help in _config.OPTIONS if name in SETTING_ENVS
}


@dataclass(frozen=True)
class Settings:
    journal: str
    journal_sync: str = _DECLARED["journal_sync"][1]
    max_attempts: int = _DECLARED["max_attempts"][1]
    retry_min_backoff: float = _DECLARED["retry_min_backoff"][1]
    retry_max_backoff: float = _DECLARED["retry_max_backoff"][1]
    lease: float = _DECLARED["lease"][1]


def _state_path() -> str:
    cfg = sys.modules.get("oslo_config.cfg")
    if cfg is not None:
        try:
            value = cfg.CONF.state_path
            if value:
                return str(value)
        except Exception:  # noqa: BLE001 - no Nova options registered: the default
            pass
    return "/var/lib/nova" if os.path.isdir("/var/lib/nova") else os.getcwd()


def current() -> Settings:
    """The settings in force now."""
    found: dict[str, Any] = {}
    conf = _config.read()
    for name, (kind, _default) in _DECLARED.items():
        variable = SETTING_ENVS[name]
        env = os.environ.get(variable)
        if env:
            try:
                found[name] = kind(env)
            except ValueError:
                raise ValueError(f"{variable}={env!r} is not a valid {kind.__name__}") from None
        elif name in conf:
            found[name] = kind(conf[name][0])
    found.setdefault("journal", os.path.join(_state_path(), JOURNAL_NAME))
    sync = str(found.get("journal_sync", Settings.journal_sync)).lower()
    if sync not in ("full", "normal"):
        raise ValueError(f"journal_sync must be 'full' or 'normal', not {sync!r}")
    found["journal_sync"] = sync
    return Settings(**found)
