"""The specification: hook points, their typed arguments, markers and errors.

The bottom layer. It knows what a hook point is (its name, phases, Nova
target and argument names) and nothing of how a call runs or where plugins
come from; the public :mod:`nova_hookspec.hookspecs` sits beside it. It
imports nothing of nova_hookspec's above it (``.importlinter`` checks).
"""
