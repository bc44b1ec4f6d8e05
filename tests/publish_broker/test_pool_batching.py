"""The pool's encoder batching (publish_broker.pool.batching), with real threads and event loop;
the pool tests (test_pool.py) ask through it end to end."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from publish_broker.pool.batching import EncodeBatcher


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)  # a poll interval; the deadline bounds it


def test_questions_waiting_while_every_pass_is_busy_share_the_next_pass():
    release, calls, sizes = threading.Event(), [], []

    def encode(texts):
        calls.append(list(texts))
        if len(calls) == 1:
            release.wait(timeout=10)

    async def scenario():
        with ThreadPoolExecutor(2) as executor:
            batcher = EncodeBatcher(encode, executor, passes=1, observe=sizes.append)
            first = asyncio.ensure_future(batcher.encoded("a"))
            await _until(lambda: calls)
            rest = [asyncio.ensure_future(batcher.encoded(text)) for text in ("b", "c", "b")]
            await asyncio.sleep(0)  # lets them queue (one turn of the loop), not a wait
            release.set()
            await asyncio.gather(first, *rest)

    asyncio.run(scenario())

    assert calls == [["a"], ["b", "c"]]
    assert sizes == [1, 3]


def test_with_a_free_pass_a_question_is_encoded_at_once_not_queued():
    started, release, calls = threading.Event(), threading.Event(), []

    def encode(texts):
        calls.append(list(texts))
        if texts == ["slow"]:
            started.set()
            release.wait(timeout=10)

    async def scenario():
        with ThreadPoolExecutor(2) as executor:
            batcher = EncodeBatcher(encode, executor, passes=2)
            slow = asyncio.ensure_future(batcher.encoded("slow"))
            await _until(started.is_set)
            await asyncio.wait_for(batcher.encoded("quick"), timeout=10)  # not behind "slow"
            release.set()
            await slow

    asyncio.run(scenario())

    assert calls == [["slow"], ["quick"]]


def test_an_encoder_failure_reaches_every_ask_of_its_pass_and_the_next_pass_works():
    def encode(texts):
        if "bad" in texts:
            raise ValueError("encoder broke")

    async def scenario():
        with ThreadPoolExecutor(1) as executor:
            batcher = EncodeBatcher(encode, executor, passes=1)
            with pytest.raises(ValueError, match="encoder broke"):
                await batcher.encoded("bad")
            await batcher.encoded("good")

    asyncio.run(scenario())


def test_passes_must_be_positive():
    with pytest.raises(ValueError):
        EncodeBatcher(lambda texts: None, ThreadPoolExecutor(1), passes=0)
