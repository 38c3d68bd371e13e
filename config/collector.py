"""Keep Python's cyclic garbage collector off the objects a server process keeps for good.

A full collection of the oldest generation walks every tracked object in the process with the GIL
held. Once Django, the encoder and an assistant's model are loaded, that is about 175,000 objects
and a 60-130 ms pause, several times a minute under load, felt by every chat this process serves
(measured with ``chat_loadtest``: BENCHMARKS.md). What is built while starting and
what is loaded to serve for a long time is moved to the collector's permanent generation instead.
Reference counting still frees such objects when they are dropped (a replaced model included);
only reference cycles among them would outlive their use.
"""

from __future__ import annotations

import gc


def long_lived_freeze(*, collect: bool = False) -> None:
    """Move every object tracked so far out of the collector's reach.

    ``collect`` runs a full collection first, so garbage waiting to be collected is not frozen
    with the rest: worth its pause once, at startup, not on a request's path.
    """
    if collect:
        gc.collect()
    gc.freeze()
