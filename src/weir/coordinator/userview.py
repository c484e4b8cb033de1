"""A stored user as the API shows it."""

from __future__ import annotations

from weir.domain.clock import utc
from weir.protocol.freeform import readable_custom
from weir.protocol.users import UserResponse
from weir.store.tables import UserRow
from weir.store.users import is_banned


def user_response(row: UserRow, blocked_user_ids: list[str] | None = None) -> UserResponse:
    """``banned`` is whether a ban holds now: one whose timeout has passed shows as not banned."""
    return UserResponse(
        id=row.id, name=row.name, image=row.image, role=row.role, teams=list(row.teams or []),
        language=row.language or "", custom=readable_custom(row.custom, f"user {row.id}"), invisible=row.invisible,
        online=row.online,
        banned=is_banned(row), blocked_user_ids=blocked_user_ids or [],
        created_at=utc(row.created_at), updated_at=utc(row.updated_at),
        last_active=utc(row.last_active), deactivated_at=utc(row.deactivated_at), deleted_at=utc(row.deleted_at),
        ban_expires=utc(row.ban_expires), revoke_tokens_issued_before=utc(row.revoke_tokens_issued_before),
    )
