"""Ingress (RTMP, SRT): where encoders publish, and the token a publisher joins with.

The stream key an encoder sends is the user's own token. The ingress worker checks it, then joins the call with
a copy carrying ``"ingress": "<protocol>"``, signed with the same API secret: the coordinator's join reads that
claim and puts the source into the SFU token, so the participant appears with ``participant_source`` rtmp or
srt. Only whoever holds the API secret can sign such a token, and it changes nothing but the source shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import jwt

from weir.domain.tokens import verify_token
from weir.protocol.errors import APIError, ErrorCode

__all__ = ["INGRESS_CLAIM", "IngressBases", "IngressProtocol", "publisher_token", "source_of"]

INGRESS_CLAIM = "ingress"
IngressProtocol = Literal["rtmp", "srt"]


def publisher_token(secret: str, stream_key: str, protocol: IngressProtocol) -> tuple[str, str]:
    """(user id, token to join with) for a user token used as a stream key; ``APIError`` saying why not."""
    claims = verify_token(secret, stream_key)
    if claims.user_id is None or claims.user_id.startswith("!"):
        raise APIError(ErrorCode.NOT_ALLOWED, "the stream key must be a user's token")
    raw = jwt.decode(stream_key, secret, algorithms=["HS256"],
                     options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
    return claims.user_id, jwt.encode({**raw, INGRESS_CLAIM: protocol}, secret, algorithm="HS256")


def source_of(extra_claims: dict[str, object]) -> IngressProtocol | None:
    """The ingress protocol a verified token's extra claims name, if any."""
    value = extra_claims.get(INGRESS_CLAIM)
    return value if value in ("rtmp", "srt") else None  # type: ignore[return-value]


@dataclass(frozen=True)
class IngressBases:
    """Where this server's listeners are, for the addresses each call shows ("" where a listener is off)."""

    rtmp: str  # rtmp://host:port
    srt: str  # srt://host:port
    whip: str  # http(s)://host:port/sfu/whip
    api_key: str

    def addresses(self, call_type: str, call_id: str) -> dict[str, str]:
        """RTMP: OBS's "Server" (the stream key is a user token); SRT: the caller's URL up to the token that ends
        the stream id; WHIP: the resource to POST an offer to, with a user token as bearer."""
        path = f"{call_type}/{call_id}"
        return {
            "rtmp": f"{self.rtmp}/{path}" if self.rtmp else "",
            "srt": f"{self.srt}?streamid={path}/" if self.srt else "",
            "whip": f"{self.whip}/{path}?api_key={self.api_key}" if self.whip else "",
        }
