"""Where the SFU listens, relative to its public base URL."""

SIGNALING_PATH = "/sfu/ws"
LATENCY_PATH = "/sfu/latency"
