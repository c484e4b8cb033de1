"""When a client may cancel noise: the call's ``audio.noise_cancellation.mode`` (``available``, ``disabled`` or
``auto-on``) and the user's ``enable-noise-cancellation`` capability, as the seed's Noise Cancellation section
reads them from the call state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weir.client.state import CallState
from weir.domain.capabilities import Capability

__all__ = ["noise_cancellation_mode", "noise_cancellation_refusal"]


def noise_cancellation_mode(settings: Mapping[str, Any]) -> str | None:
    """The call's mode, or None while its settings are not loaded."""
    noise_cancellation = (settings.get("audio") or {}).get("noise_cancellation") or {}
    mode = noise_cancellation.get("mode")
    return str(mode) if mode is not None else None


def noise_cancellation_refusal(state: CallState) -> str | None:
    """Why this client may not cancel noise in the call now, or None when it may."""
    mode = noise_cancellation_mode(state.settings)
    if mode is None:
        return "the call's settings are not loaded yet: get, create or join the call first"
    if mode == "disabled":
        return "noise cancellation is disabled for this call (audio.noise_cancellation.mode is disabled)"
    if Capability.ENABLE_NOISE_CANCELLATION.value not in state.own_capabilities:
        return f"{state.current_user_id} lacks the enable-noise-cancellation capability in this call"
    return None
