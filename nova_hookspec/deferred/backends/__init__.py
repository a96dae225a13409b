"""Stores of deferred jobs beside the journal: :mod:`.stub`, in memory, for tests."""
