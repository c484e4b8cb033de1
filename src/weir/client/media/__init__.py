"""The SDK's media: ICE on the host addresses, sources (devices, files, synthetic), sinks, connect options."""
