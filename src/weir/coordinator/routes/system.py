"""Routes: health and server facts that need no resource."""

from fastapi import APIRouter, Depends

from weir import __version__
from weir.coordinator.auth import Caller, caller

router = APIRouter(tags=["system"])


@router.get("/health", summary="Liveness check")
async def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.api_route("/health/auth", methods=["GET", "POST"], summary="Echo who the token says the caller is")
async def whoami(who: Caller = Depends(caller("Health"))) -> dict[str, object]:
    return {"user_id": who.user_id, "server": who.is_server, "anonymous": who.is_anonymous,
            "platform": who.platform}
