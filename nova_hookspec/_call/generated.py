"""Source the call model writes at run time, visible to tracebacks and debuggers.

The argument plans (:mod:`.binding`) and the runners (:mod:`.runner`) are
Python written per hook point and compiled once. Registered in
:mod:`linecache` under a name of their own, their lines show in a
traceback that passes through them, in ``pdb``'s ``list`` and in
``inspect.getsource``, as a file's would: a plugin author debugging a hook
sees what the call did, not ``<nova_hookspec runner>`` and no line.

The name holds a digest of the source: a point planned again with the same
plugins finds its entry; what differs gets an entry of its own (a few per
point over a process's life, each a few hundred bytes).
"""

from __future__ import annotations

import hashlib
import linecache


def generated_file(what: str, source: str) -> str:
    """A file name for ``source`` (``what`` says what it is), its lines registered."""
    digest = hashlib.blake2s(source.encode(), digest_size=6).hexdigest()
    name = f"<nova_hookspec {what} {digest}>"
    # (size, mtime, lines, name): an mtime of None tells checkcache() to keep it.
    linecache.cache[name] = (len(source), None, source.splitlines(keepends=True), name)
    return name
