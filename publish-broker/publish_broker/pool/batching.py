"""Concurrent asks' questions encoded together: one encoder pass for every question waiting.

The sentence encoder is most of an ask's cost (~13 ms for one short question on this CPU), and
one pass over several questions costs far less than a pass each (8 questions: ~2x one). Up to
``passes`` passes run at once (one per thread of the pool: with free cores an ask never waits
for another's pass); a question arriving while they are all busy waits for the next pass, which
takes every question waiting by then. So under light load an ask is encoded alone at once, and
under heavy load the encoder's work per ask shrinks instead of the queue growing.

A pass only fills the encoder's cache (publish_broker.encoder): the ask then runs as before and
finds its vector there (or, if the cache was emptied meanwhile, encodes it again).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor


class EncodeBatcher:
    """Runs ``encode(texts)`` in ``executor``, at most ``passes`` at a time, batching waiters.

    Used from one event loop (the pool's); not thread-safe, nor needs to be.
    """

    def __init__(self, encode: Callable[[list[str]], object], executor: Executor,
                 passes: int, observe: Callable[[int], None] = lambda size: None) -> None:
        """``observe`` is told each pass's number of asks (the metrics' histogram)."""
        if passes < 1:
            raise ValueError(f"passes must be >= 1, got {passes}")
        self._encode, self._executor, self._passes = encode, executor, passes
        self._observe = observe
        self._waiting: list[tuple[str, asyncio.Future]] = []
        self._running = 0

    async def encoded(self, text: str) -> None:
        """Returns once a pass encoded ``text``; raises what the encoder raised."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((text, future))
        if self._running < self._passes:
            self._start(loop)
        await future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._waiting = self._waiting, []
        self._running += 1
        self._observe(len(batch))
        texts = list(dict.fromkeys(text for text, _ in batch))
        done = loop.run_in_executor(self._executor, self._encode, texts)
        done.add_done_callback(lambda finished: self._finish(loop, batch, finished))

    def _finish(self, loop: asyncio.AbstractEventLoop, batch: list, finished) -> None:
        self._running -= 1
        error = finished.exception()
        for _, future in batch:
            if future.done():  # its ask was cancelled (the client went away)
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
        if self._waiting and self._running < self._passes:
            self._start(loop)
