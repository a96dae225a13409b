"""Started with every Python the test suite runs (it is on ``PYTHONPATH``):
hides the plugin distributions installed in the test environment.

See :mod:`hidden_plugins`; nothing happens unless the suite set
``HOOKSPEC_TESTS_HIDDEN``.
"""

import hidden_plugins

hidden_plugins.hide_from_environment()
