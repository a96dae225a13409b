"""What nova_hookspec relies on inside pluggy is still there, on the installed pluggy."""

from __future__ import annotations

import pluggy
import pytest

from nova_hookspec import hookimpl
from nova_hookspec._seams import pluggy_api as _pluggy


def test_installed_pluggy_provides_everything_listed() -> None:
    assert _pluggy.version() >= (0, 13, 1)
    assert _pluggy.problems() == [], pluggy.__version__


def test_the_check_notices_a_missing_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Were pluggy to drop an internal the seam relies on, the check above would fail."""
    monkeypatch.setattr(_pluggy, "HookImpl", lambda plugin, name, function, opts: object())
    assert any("HookImpl has no" in problem for problem in _pluggy.problems())


def test_options_pluggy_lacks_are_ours_on_every_release() -> None:
    """``wrapper`` and ``specname`` reach the implementation whatever pluggy knows."""

    @hookimpl(wrapper=True, specname="create_instance", tryfirst=True)
    def around():  # type: ignore[no-untyped-def]
        yield

    impl = _pluggy.new_impl(object(), "p", around, dict(around.nova_hookspec_impl))  # type: ignore[attr-defined]
    assert _pluggy.is_wrapper(impl)
    assert impl.opts["specname"] == "create_instance"
    assert impl.opts["tryfirst"] is True
