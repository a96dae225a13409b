"""Backfill and reconcile: make each plugin's external system match Nova's instances.

Hooks see what happens while they are attached; a reconcile pass compares
what Nova holds (its compute API, :mod:`.nova`) with what a plugin's
external system holds (its ``known_instances`` hook, or the record of what
its deferred jobs delivered) and queues the plugin's deferred
``create_instance_post`` / ``delete_instance_post`` jobs for the
difference (:mod:`.engine`). Backfill is a pass for a plugin that knows
nothing yet. ``nova-hookspec reconcile`` runs one pass (:mod:`.run`);
``nova-hookspec worker --reconcile-every`` runs them on a schedule
(:mod:`.schedule`); :mod:`.state` keeps the counts for the metrics.
"""
