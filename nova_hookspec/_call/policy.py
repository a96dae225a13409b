"""What a plugin's failure means, and how it is logged.

* A plugin's ordinary exception (any ``Exception`` that is not fatal) is
  logged at WARNING with the plugin, the hook and the phase; the call goes on
  as if that plugin were absent.
* A fatal exception (:class:`~nova_hookspec.FatalHookException`, and Nova
  <= 21's own ``nova.hooks.FatalHookException`` when Nova is importable) is
  logged at ERROR and raised.
* Anything that is no ``Exception`` (``KeyboardInterrupt``, ``SystemExit``)
  is never swallowed.

Formatting a failure never raises: an exception whose ``__str__`` raises is
described by its type.
"""

from __future__ import annotations

import logging
import sys
from typing import Callable

from nova_hookspec._spec import points as _points
from nova_hookspec._spec.errors import FatalHookException

log = logging.getLogger("nova_hookspec")

_fatal: tuple[type[BaseException], ...] = (FatalHookException,)
_nova_hooks_seen: object = None


def fatal_types() -> tuple[type[BaseException], ...]:
    """The exception classes that stop a hooked call when a plugin raises them.

    Nova <= 21's ``nova.hooks.FatalHookException`` counts as soon as
    ``nova.hooks`` has been imported (by Nova itself or by a plugin), with or
    without :func:`~nova_hookspec.attach_nova`. (Read when a plugin raises,
    never on a call that goes well.)
    """
    global _nova_hooks_seen
    hooks = sys.modules.get("nova.hooks")
    if hooks is not None and hooks is not _nova_hooks_seen:
        _nova_hooks_seen = hooks
        nova_fatal = getattr(hooks, "FatalHookException", None)
        if isinstance(nova_fatal, type) and issubclass(nova_fatal, BaseException):
            add_fatal_type(nova_fatal)
    return _fatal


def add_fatal_type(exc_type: type[BaseException]) -> None:
    """Count ``exc_type`` as fatal too."""
    global _fatal
    if exc_type not in _fatal:
        _fatal = (*_fatal, exc_type)


def is_fatal(exc: BaseException) -> bool:
    """Whether a plugin raising ``exc`` stops the call."""
    return isinstance(exc, fatal_types())


def is_plugin_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is an ordinary plugin failure (logged, then ignored)."""
    return isinstance(exc, Exception) and not is_fatal(exc)


def describe_exception(exc: BaseException) -> str:
    """``Type: message``, whatever the exception's ``__str__`` does."""
    name = type(exc).__name__
    try:
        text = str(exc)
    except BaseException as inner:
        if isinstance(inner, KeyboardInterrupt):
            raise
        return f"{name} (its message could not be formatted: {type(inner).__name__})"
    return f"{name}: {printable(text)}" if text else name


def printable(text: str) -> str:
    """``text`` with what UTF-8 cannot encode (surrogates: ``os.fsdecode`` of a
    non-UTF-8 path) shown as ``\\udcff`` escapes, so any log stream or
    terminal can print it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def phase_of(hook_name: str) -> str:
    """The phase (pre, call, post) of a hook name."""
    located = _points.hook_phase(hook_name)
    return located[1] if located else "call"


#: Called with (plugin name, hook name, exception) for each failure reported,
#: before it is logged (the testing kit records failures this way).
listeners: list[Callable[[str, str, BaseException], None]] = []


def report_failure(
    plugin_name: str, hook_name: str, exc: BaseException, when: str = "", instance: object = None
) -> None:
    """Log a plugin's failure, naming the plugin, the hook and the phase.

    With the call's ``instance``, the record carries its UUID as Nova's own
    lines do (``instance_uuid``: oslo.log prints ``[instance: UUID]``).
    """
    for listener in list(listeners):
        listener(plugin_name, hook_name, exc)
    fatal = is_fatal(exc)
    message = "plugin %r %s in hook %r (%s phase)%s: %s" % (  # noqa: UP031 - formatted once, here
        plugin_name,
        "raised a fatal exception" if fatal else "failed",
        hook_name,
        phase_of(hook_name),
        f", {when}" if when else "",
        describe_exception(exc),
    )
    uuid = _uuid_of(instance)
    log.log(logging.ERROR if fatal else logging.WARNING, "%s", message,
            exc_info=_safe_exc_info(exc), extra={"instance_uuid": uuid} if uuid else None)


def _uuid_of(instance: object) -> str | None:
    if instance is None:
        return None
    try:
        uuid = getattr(instance, "uuid", None)
    except Exception:  # noqa: BLE001 - an object that cannot say: no UUID in the line
        return None
    return uuid if isinstance(uuid, str) else None


def _safe_exc_info(exc: BaseException) -> BaseException | None:
    """``exc`` for ``exc_info`` when its traceback can be formatted and printed
    (its message encodes as UTF-8), else ``None``: the message says it all then."""
    try:
        str(exc).encode("utf-8")
    except BaseException as inner:
        if isinstance(inner, KeyboardInterrupt):
            raise
        return None
    return exc
