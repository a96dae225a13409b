"""The seams to other libraries: pluggy's internals and installed distributions.

Every use of a pluggy internal and every difference between pluggy releases
is in :mod:`.pluggy_api`; reading entry points on every supported Python is
in :mod:`.metadata`. The layers above use these and never reach past them.
"""
