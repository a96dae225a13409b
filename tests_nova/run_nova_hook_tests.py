"""Nova's own unit tests of ``nova/hooks.py`` against :mod:`nova_hookspec.compat`.

Nova 21's wheel ships ``nova/tests/unit/test_hooks.py``; they pass natively
under the Ussuri constraints. Here ``nova.hooks`` is replaced by
``nova_hookspec.compat`` before the tests are imported, and they run
unchanged. Exit status 0 only if every one of them ran and passed; the last
line is ``N passed, N failed``.
"""

from __future__ import annotations

import sys
import unittest

import nova

from nova_hookspec import compat

EXPECTED = 8


def main() -> int:
    sys.modules["nova.hooks"] = compat
    nova.hooks = compat  # type: ignore[attr-defined]  # "from nova import hooks" reads this
    from nova.tests.unit import test_hooks

    assert test_hooks.hooks is compat, "Nova's tests did not get nova_hookspec.compat"
    suite = unittest.defaultTestLoader.loadTestsFromModule(test_hooks)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"nova.tests.unit.test_hooks against nova_hookspec.compat: "
          f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed == EXPECTED else 1


if __name__ == "__main__":
    sys.exit(main())
