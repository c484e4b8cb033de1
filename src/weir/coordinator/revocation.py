"""Token revocation: ``revoke_tokens_issued_before`` per user (on the user row) and per app (in the app settings).

A token issued before the date that applies is refused; so is a token without ``iat`` once a date applies, since
nothing shows it is newer. Server tokens are not affected: the API secret itself is what they rest on.
"""

from __future__ import annotations

from datetime import datetime

from weir.domain.clock import utc
from weir.domain.tokens import TokenClaims
from weir.protocol.errors import APIError, ErrorCode
from weir.store.db import Database
from weir.store.tables import AppSettingsRow
from weir.webhooks.config import APP_SETTINGS_ID

APP_KEY = "revoke_tokens_issued_before"


def stored_date(settings: dict[str, object]) -> datetime | None:
    value = settings.get(APP_KEY)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class AppRevocation:
    """The app-wide date, read once and then kept in step by ``PATCH /app``: auth needs it on every request."""

    def __init__(self) -> None:
        self._before: datetime | None = None
        self._loaded = False

    async def before(self, db: Database) -> datetime | None:
        if not self._loaded:
            async with db.read() as session:
                row = await session.get(AppSettingsRow, APP_SETTINGS_ID)
            self._before = stored_date(row.settings) if row is not None else None
            self._loaded = True
        return self._before

    def set(self, before: datetime | None) -> None:
        self._before, self._loaded = before, True


def check_not_revoked(claims: TokenClaims, *dates: datetime | None) -> None:
    """Refuse the token if it was issued before the latest of ``dates`` (those that are set)."""
    applying = [stamp for stamp in (utc(d) for d in dates) if stamp is not None]
    if not applying:
        return
    latest = max(applying)
    if claims.issued_at is None or claims.issued_at < latest.timestamp():
        raise APIError(ErrorCode.AUTH_FAILED, f"token was revoked: issued before {latest.isoformat()}")
