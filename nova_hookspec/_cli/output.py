"""What every subcommand shares in what it prints: JSON, log lines, one-line errors.

An operator reads the output of a command, a machine parses its ``--json``.
So JSON is always valid JSON (a job retried "in infinity" has no due time,
``null``, never ``Infinity``), a mistake is one line naming what is wrong
(the setting, the file, the port), and the log lines a command's report
already says are not printed a second time beside it. Tracebacks are for
exceptions raised by a plugin's own code, and only with ``--debug``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sys
from collections.abc import Iterator
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every float that is not finite (inf, nan) replaced by ``None``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def dumps(document: Any) -> str:
    """A command's ``--json`` document: indented, and valid JSON whatever it holds."""
    return json.dumps(finite(document), indent=2, allow_nan=False)


def _refusal(exc: BaseException | None) -> bool:
    """Whether ``exc`` is nova_hookspec refusing a plugin (its message says it all)
    rather than an exception of the plugin's own code (whose traceback helps)."""
    from nova_hookspec._seams.pluggy_api import PluginValidationError

    return exc is None or isinstance(exc, PluginValidationError)


def _plugins_own(record: logging.LogRecord) -> bool:
    """Whether ``record`` carries an exception raised by a plugin's own code."""
    exc = record.exc_info[1] if record.exc_info else None
    if exc is None:
        return False
    cause = getattr(exc, "exc", None) or exc.__cause__ or exc
    return not _refusal(cause)


class _Formatter(logging.Formatter):
    """``LEVEL logger: message``; the traceback only when asked for and the
    exception is the plugin's own."""

    def __init__(self, debug: bool) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        if self.debug and _plugins_own(record):
            return super().format(record)
        record.message = record.getMessage()
        return self.formatMessage(record)


class HeldLogs(logging.Handler):
    """Holds the log records of a command until its report is printed, then
    prints those the report does not already say (:meth:`show`)."""

    def __init__(self, debug: bool) -> None:
        super().__init__(logging.DEBUG if debug else logging.WARNING)
        self.debug = debug
        self.records: list[logging.LogRecord] = []
        self.setFormatter(_Formatter(debug))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def show(self, said: list[str]) -> None:
        """Print each held record once, unless its message contains one of ``said``
        (with ``--debug``, a plugin's own exception is printed with its traceback)."""
        shown: set[str] = set()
        for record in self.records:
            message = record.getMessage()
            told = any(text and text in message for text in said)
            if message in shown or (told and not (self.debug and _plugins_own(record))):
                continue
            shown.add(message)
            print(self.format(record), file=sys.stderr)
        self.records.clear()


@contextlib.contextmanager
def held_logs(debug: bool) -> Iterator[HeldLogs]:
    """While the block runs, the log records go to a :class:`HeldLogs` (and nowhere
    else); the caller shows them after its report."""
    handler = HeldLogs(debug)
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    if debug:
        root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)


def plain_logging(debug: bool = False) -> None:
    """Log records of a short command on standard error, one line each."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(debug))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)


class JsonLines(logging.Formatter):
    """One JSON object per log record (``worker --json``), for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": round(record.created, 3), "level": record.levelname,
                "logger": record.name, "message": record.getMessage()}
        if record.exc_info and record.exc_info[1] is not None:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(finite(line), allow_nan=False)
