"""Offer tokens: 256 random bits in the link, only their SHA-256 on the hold.

Neither a database read nor a backup gives anyone a usable link. A token is made when
the offer is sent, and a re-send replaces it, so only the newest link works; answering
closes the hold, so a token works once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobline.domains.waitlist.tables import Hold, HoldStatus

TOKEN_BYTES = 32


def hash_token(token: str) -> str:
    """The form a token is stored and looked up in."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, *, hold_id: uuid.UUID, now: dt.datetime) -> str | None:
    """A fresh token for an open hold, replacing any earlier one; None if the hold is closed or past its time."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    issued = session.execute(
        sa.update(Hold)
        .where(Hold.id == hold_id, Hold.status == HoldStatus.ACTIVE, Hold.expires_at > now)
        .values(token_hash=hash_token(token))
        .returning(Hold.id)
    ).one_or_none()
    return token if issued is not None else None


def find_hold(session: Session, token: str) -> Hold | None:
    """The hold a token belongs to, unlocked; None for a token that was never issued or was replaced."""
    return session.scalars(sa.select(Hold).where(Hold.token_hash == hash_token(token))).one_or_none()
