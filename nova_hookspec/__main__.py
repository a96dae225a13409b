"""``python -m nova_hookspec``: the ``nova-hookspec`` command."""

import sys

from nova_hookspec._cli.main import main

sys.exit(main())
