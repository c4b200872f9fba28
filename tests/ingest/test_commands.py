"""`eldercare cloud ingest`'s start-up: the heap it settles before ingesting is still garbage-collected afterwards."""

import gc
import weakref

from cloud.ingest.commands import settle_heap


class _Node:
    other: object = None


def test_after_settling_the_heap_new_garbage_cycles_are_still_collected() -> None:
    before = gc.get_freeze_count()
    try:
        settle_heap()
        assert gc.get_freeze_count() > before  # the start-up heap is out of later collections
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a cycle: only the collector can free it
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
