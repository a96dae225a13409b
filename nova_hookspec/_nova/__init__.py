"""The Nova attachment: putting the hook points into a real Nova.

Attaching to Nova's callables (:mod:`.attach`), attaching when Nova's module
is imported later (:mod:`.import_hooks`), the service launcher
(:mod:`.launcher`) and stand-ins for Nova's objects where no Nova is
installed (:mod:`.standins`). The public :mod:`nova_hookspec.compat` (the
drop-in for ``nova.hooks``) and :mod:`nova_hookspec.wsgi` sit beside it.
"""
