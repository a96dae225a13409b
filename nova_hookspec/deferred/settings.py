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


@dataclass(frozen=True)
class Settings:
    journal: str
    journal_sync: str = "full"
    max_attempts: int = 10
    retry_min_backoff: float = 1.0
    retry_max_backoff: float = 600.0
    lease: float = 30.0


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
    kinds = {"journal": str, "journal_sync": str, "max_attempts": int,
             "retry_min_backoff": float, "retry_max_backoff": float, "lease": float}
    for name, kind in kinds.items():
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
    if found.get("journal_sync", "full").lower() not in ("full", "normal"):
        raise ValueError(f"journal_sync must be 'full' or 'normal', not {found['journal_sync']!r}")
    found["journal_sync"] = found.get("journal_sync", "full").lower()
    return Settings(**found)
