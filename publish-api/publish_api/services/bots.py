"""Bots: where an owner's live version answers (this is how `ask @user` finds it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import BotNotFound
from ..models import Bot, User, utcnow


def get_bot(session: Session, owner: User) -> dict:
    """The owner's bot. Raises BotNotFound when the owner never published."""
    return bot_view(_bot(session, owner))


def set_health(session: Session, owner: User, health: str, error: str | None) -> dict:
    """Record what the broker or a health check saw. Raises BotNotFound."""
    bot = _bot(session, owner)
    bot.health, bot.updated_at = health, utcnow()
    if error is not None:
        bot.last_error = error
    session.commit()
    return bot_view(bot)


def _bot(session: Session, owner: User) -> Bot:
    bot = session.scalars(select(Bot).where(Bot.owner_id == owner.id)).first()
    if bot is None:
        raise BotNotFound(f"{owner.display_name} has not published a bot yet", "user_id")
    return bot


def bot_view(bot: Bot) -> dict:
    live = bot.live_job
    return {
        "team_id": bot.owner.team_id,
        "user_id": bot.owner.slack_user_id,
        "display_name": bot.owner.display_name,
        "live_version_id": live.version_id if live else None,
        "live_job_id": live.id if live else None,
        "endpoint": bot.endpoint,
        "model_digest": bot.model_digest,
        "health": bot.health,
        "last_error": bot.last_error,
        "updated_at": bot.updated_at,
    }
