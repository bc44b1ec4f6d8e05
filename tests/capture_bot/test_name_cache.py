"""The concierge's display-name cache stays bounded: a workspace of many users cannot grow the
concierge's memory without end."""

from __future__ import annotations

import asyncio

from connectors.profiles import NAME_CACHE_SIZE, DisplayNames, LruCache
from tests.capture_bot.servers import BOT_TOKEN
from tests.support.slack_api import SlackApi


def test_the_cache_keeps_at_most_its_size():
    cache = LruCache(size=3)
    for number in range(10):
        cache.put(f"T1:U{number}", f"name {number}")
    assert len(cache) == 3
    assert cache.get("T1:U0") is None
    assert cache.get("T1:U9") == "name 9"


def test_the_least_recently_used_entry_goes_first():
    cache = LruCache(size=2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"
    cache.put("c", "C")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("A", None, "C")


def test_the_default_size_is_bounded():
    assert 0 < NAME_CACHE_SIZE <= 100_000


def test_the_look_up_forgets_names_beyond_its_cache():
    with SlackApi(bot_token=BOT_TOKEN) as slack:
        users = [f"U0USER{n}" for n in range(5)]
        for user in users:
            slack.add_user(user, user.lower(), f"User {user}")
        look_up = DisplayNames(BOT_TOKEN, slack.url, size=3)

        def names(*who):
            return asyncio.run(_names(look_up, who))

        assert names(*users) == [f"User {user}" for user in users]
        assert names(users[-1]) == [f"User {users[-1]}"]  # cached: no call
        assert names(users[0]) == [f"User {users[0]}"]  # forgotten: looked up again
        lookups = [c.args["user"] for c in slack.calls if c.method == "users.info"]
        assert lookups == users + [users[0]]


async def _names(look_up, users):
    return [await look_up.lookup(SlackApi.team_id, user) for user in users]
