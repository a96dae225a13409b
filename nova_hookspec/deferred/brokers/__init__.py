"""The stores behind :mod:`nova_hookspec.deferred.broker`: the one-host SQLite journal."""
