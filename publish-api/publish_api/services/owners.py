"""Users (topic owners), identified by Slack team and user ids."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict, UserNotFound
from ..models import User, Workspace

MAX_SQL_INT = 2**31 - 1


def upsert_user(
    session: Session, team_id: str, user_id: str, display_name: str
) -> tuple[dict, bool]:
    """Create the user (and workspace) or update the display name; returns (user, created)."""
    user = _find(session, team_id, user_id)
    created = user is None
    if created:
        user = _insert(session, team_id, user_id, display_name)
    user.display_name = display_name
    session.commit()
    return user_view(user), created


def get_owner(session: Session, team_id: str, user_id: str) -> User:
    """The user; services that write lock it with `lock_owner`. Raises UserNotFound."""
    user = _find(session, team_id, user_id)
    if user is None:
        raise UserNotFound(f"no user {user_id} in workspace {team_id}; create it first", "user_id")
    return user


def lock_owner(session: Session, user: User) -> None:
    """Row-lock the owner until commit: serialises an owner's cap checks, publishes and claims."""
    session.execute(select(User.id).where(User.id == user.id).with_for_update())


def user_view(user: User) -> dict:
    return {
        "team_id": user.team_id,
        "user_id": user.slack_user_id,
        "display_name": user.display_name,
        "created_at": user.created_at,
    }


def _find(session: Session, team_id: str, user_id: str) -> User | None:
    query = (
        select(User)
        .join(Workspace)
        .where(Workspace.team_id == team_id, User.slack_user_id == user_id)
    )
    return session.scalars(query).first()


def _insert(session: Session, team_id: str, user_id: str, display_name: str) -> User:
    # First contacts may race on the unique constraints: the loser re-reads and tries again.
    for _attempt in range(3):
        try:
            with session.begin_nested():
                workspace = _workspace(session, team_id)
                user = User(workspace=workspace, slack_user_id=user_id, display_name=display_name)
                session.add(user)
            return user
        except IntegrityError:
            user = _find(session, team_id, user_id)
            if user is not None:
                return user
    raise Conflict("the user is being created concurrently; try again")


def _workspace(session: Session, team_id: str) -> Workspace:
    workspace = session.scalars(select(Workspace).where(Workspace.team_id == team_id)).first()
    if workspace is None:
        workspace = Workspace(team_id=team_id)
        session.add(workspace)
        session.flush()
    return workspace
