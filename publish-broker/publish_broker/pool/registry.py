"""The owners' models a pool holds in memory: loaded on demand, swapped atomically, evicted LRU.

Models live on disk as the broker installs them, ``<models dir>/<bot name>/<digest>.tar.gz``
(the directory is the pool's only state, and it may be read-only). The live model of a bot is
the one the broker last made live with ``load``; a bot the pool has not loaded since it started
(or has evicted) is loaded from its newest model file on its next question, which is the live
one because the broker deletes older files after each successful deploy.

One owner's model never answers for another: each bot name maps to its own ``FaqModel``, and
a model that cannot be read fails for its owner alone (``ModelUnreadable``).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from publish_broker.errors import BotNotFound, ModelUnreadable
from publish_broker.matcher import FaqModel
from publish_broker.modelfiles import MODEL_SUFFIX, model_file_name

logger = logging.getLogger(__name__)

_BOT_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")


@dataclass
class LoadedBot:
    """A bot's live model in memory."""

    digest: str
    model: FaqModel
    size: int  # estimated bytes, for the memory budget
    last_used: float = field(default_factory=time.monotonic)


@dataclass
class PoolStats:
    """Counters for the metrics endpoint."""

    loads: int = 0
    load_failures: int = 0
    evictions: int = 0


class BotRegistry:
    """Bot name → live model, bounded by ``budget_bytes`` and ``idle_seconds`` (thread-safe)."""

    def __init__(self, models_dir: Path, budget_bytes: int, idle_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.models_dir = Path(models_dir)
        self._budget = budget_bytes
        self._idle = idle_seconds
        self._clock = clock
        self._live: OrderedDict[str, LoadedBot] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self.stats = PoolStats()

    def parse(self, bot: str, text: str) -> dict:
        """The bot's answer to ``text`` (Rasa's /model/parse shape), loading it if needed.

        Raises BotNotFound (no stored model) or ModelUnreadable (its model is corrupt).
        """
        return self.live(bot).model.parse(text)

    def live(self, bot: str) -> LoadedBot:
        """The bot's live model, loaded from its newest stored file if not in memory.

        Raises BotNotFound or ModelUnreadable.
        """
        with self._lock:
            loaded = self._touch(bot)
        if loaded is not None:
            return loaded
        with self._load_lock(bot):
            with self._lock:
                loaded = self._touch(bot)  # another thread may have loaded it meanwhile
            return loaded or self._load(bot, self._stored_digest(bot))

    def load(self, bot: str, digest: str) -> LoadedBot:
        """Make ``digest`` the bot's live model; the old one answers until the swap.

        Raises BotNotFound (no such model file) or ModelUnreadable.
        """
        with self._load_lock(bot):
            return self._load(bot, digest)

    def unload(self, bot: str) -> bool:
        """Forget the bot's model (files stay: the broker owns them); True if it was loaded."""
        with self._lock:
            return self._live.pop(bot, None) is not None

    def loaded(self) -> list[str]:
        """Names of the bots in memory, least recently used first."""
        with self._lock:
            return list(self._live)

    def footprint(self) -> int:
        """Estimated bytes of every loaded model."""
        with self._lock:
            return sum(loaded.size for loaded in self._live.values())

    def evict_idle(self) -> int:
        """Evict bots not asked for ``idle_seconds``; returns how many."""
        horizon = self._clock() - self._idle
        with self._lock:
            idle = [bot for bot, loaded in self._live.items() if loaded.last_used < horizon]
            for bot in idle:
                del self._live[bot]
            self.stats.evictions += len(idle)
        if idle:
            logger.info("evicted %d idle bot(s)", len(idle))
        return len(idle)

    def _load(self, bot: str, digest: str) -> LoadedBot:
        path = self._bot_dir(bot) / model_file_name(digest)
        if not path.is_file():
            raise BotNotFound(bot)
        started = time.perf_counter()
        try:
            model = FaqModel.from_archive(path)
        except ModelUnreadable:
            with self._lock:
                self.stats.load_failures += 1
            logger.error("bot %s: model %s is unreadable", bot, digest[:12])
            raise
        loaded = LoadedBot(digest, model, model_size(model), self._clock())
        with self._lock:
            self._live[bot] = loaded
            self._live.move_to_end(bot)
            self.stats.loads += 1
            self._evict_over_budget(keep=bot)
        logger.info("bot %s: model %s live in %.0f ms", bot, digest[:12],
                    1000 * (time.perf_counter() - started))
        return loaded

    def _evict_over_budget(self, keep: str) -> None:
        total = sum(loaded.size for loaded in self._live.values())
        for bot in list(self._live):
            if total <= self._budget:
                break
            if bot != keep:
                total -= self._live.pop(bot).size
                self.stats.evictions += 1

    def _touch(self, bot: str) -> LoadedBot | None:
        loaded = self._live.get(bot)
        if loaded is not None:
            loaded.last_used = self._clock()
            self._live.move_to_end(bot)
        return loaded

    def _stored_digest(self, bot: str) -> str:
        try:
            files = [p for p in self._bot_dir(bot).glob("*" + MODEL_SUFFIX) if p.is_file()]
        except OSError:
            files = []
        if not files:
            raise BotNotFound(bot)
        newest = max(files, key=lambda p: p.stat().st_mtime)
        return newest.name[: -len(MODEL_SUFFIX)]

    def _load_lock(self, bot: str) -> threading.Lock:
        with self._lock:
            return self._loading.setdefault(bot, threading.Lock())

    def _bot_dir(self, bot: str) -> Path:
        if not _BOT_NAME.fullmatch(bot):
            raise BotNotFound(bot)
        return self.models_dir / bot


def model_size(model: FaqModel) -> int:
    """Estimated bytes a loaded model holds: its arrays, lexical index and texts."""
    return model.footprint() + sys.getsizeof(model)
