"""``reason``s of ``call.session_participant_left`` that end a session but not its user's part in the call: the SFU
lost the session (its media worker died, or its client stayed away past the fast-reconnect deadline). The client
that owns it rejoins with a new session. A module of its own: the SFU's worker processes need these names
without loading every event model."""

SFU_WORKER_LOST = "sfu_worker_lost"
SESSION_DISCONNECTED = "disconnected"
SESSION_LOST_REASONS = frozenset({SFU_WORKER_LOST, SESSION_DISCONNECTED})
