"""The ``nova-hookspec`` command: ``list``, ``check``, ``new``, ``demo``, ``run``,
``worker``, ``deferred``.

The top layer: it uses the public API and every layer below; nothing
imports it but ``python -m nova_hookspec`` and the console script.
"""

from nova_hookspec._cli.main import main

__all__ = ["main"]
