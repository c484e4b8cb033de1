"""The coordinator WebSocket: connections, watching, presence and event delivery."""
