"""The SDK's side of the SFU signaling protocol (docs/protocol.md): socket, peer connections, session, state."""
