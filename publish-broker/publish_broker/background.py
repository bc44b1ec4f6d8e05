"""Questions no owner teaches: the background against which each bot's "I don't know" is set.

A generic set (trivia, chit-chat, coding, feelings...) shipped in ``data/`` with its source and
licence. The matcher scores it against every bot it fits and raises the bot's cut until most of
it is refused, within a bound on the owner's own held-out phrasings (publish_broker.matcher,
docs/answer-quality.md). It is read once per process; its vectors come from the encoder's cache.
"""

from __future__ import annotations

import functools
from pathlib import Path

BACKGROUND_FILE = Path(__file__).resolve().parent / "data" / "background_questions.txt"


@functools.lru_cache(maxsize=1)
def background_questions() -> tuple[str, ...]:
    """The background questions, one per non-comment line of ``BACKGROUND_FILE``.

    Raises OSError if the file is unreadable.
    """
    lines = BACKGROUND_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))
