"""Plugin management: the plugin manager and everything that decides what it holds.

The manager (:mod:`.manager`) and the process-wide instance
(:mod:`.process`), entry-point discovery (:mod:`.discovery`, with the
records of :mod:`.info`), the operator's controls (:mod:`.controls`,
:mod:`.config`), validation with helpful errors (:mod:`.validation`), the run
order (:mod:`.ordering`, reported by :mod:`.report`) and pluggy's rules for
other projects' hooks (:mod:`.foreign`). It sits on the call model and
provides it with the current plans.
"""
