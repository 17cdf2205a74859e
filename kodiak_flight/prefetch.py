"""Read ahead of a consumer: overlap receiving an upload with storing it.

A DoPut ingest used to alternate between waiting for the next record batch from the network
and converting, checksumming and writing the previous one, so each waited for the other.
A reader thread keeps a few batches ready instead (bounded: at most ``depth`` in memory).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

_END = object()


def prefetch(source: Iterable[Any], depth: int = 4) -> Iterator[Any]:
    """The items of ``source``, read by a thread of their own up to ``depth`` ahead.

    An exception in the source is raised here, at the point where its item would have been.
    Closing the generator early stops the thread after the item it is reading, and waits for
    it, so ``source`` is never used after this generator has finished.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in source:
                if not put((item, None)):
                    return
        except BaseException as e:  # handed to the consumer
            put((_END, e))
            return
        put((_END, None))

    thread = threading.Thread(target=run, name="kodiak-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, err = q.get()
            if item is _END:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        stop.set()
        thread.join()
