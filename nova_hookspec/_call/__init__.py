"""The call model: what happens on one hooked call.

``add_hook`` (:mod:`.hooked`), how a callable's arguments map onto its
hook's names (:mod:`.binding`), the per-point plan (:mod:`.dispatch`), the
function written for it (:mod:`.runner`), the hook executor for what the
written runner does not do (:mod:`.executor`), the error policy
(:mod:`.policy`), tracing (:mod:`.tracing`) and how a legacy ``pre``/``post``
class is called (:mod:`.legacy`).

It does not know the plugin manager: it asks the plan source of
:mod:`.source` for the current plans, and the plugin layer provides it.
"""
