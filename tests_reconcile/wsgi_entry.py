"""gunicorn's application: Nova's own ``nova.wsgi.osapi_compute``, unchanged
(on older Nova, the ``init_application`` behind its ``nova-api-wsgi`` script).

Why a module at all: Nova parses ``sys.argv`` with oslo.config when its WSGI
application loads (uwsgi feeds it through ``--pyargv``); under gunicorn,
``sys.argv`` is gunicorn's own command line, which Nova refuses. Its
configuration comes from ``OS_NOVA_CONFIG_DIR`` instead, as the fixture sets.
"""

from __future__ import annotations

import sys

sys.argv = sys.argv[:1]

try:
    from nova.wsgi.osapi_compute import application
except ImportError:  # older Nova: the entry behind pbr's ``nova-api-wsgi`` script
    from nova.api.openstack.compute.wsgi import init_application

    application = init_application()

__all__ = ["application"]
