"""SFU media workers: processes of their own, each running an ``SfuServer`` for the calls it owns.

A worker (``process``) reaches the coordinator through ``RemoteCoordinator`` (``remote``) and takes WHIP/WHEP
sessions the coordinator hands it (``entry_routes``). ``channel`` is what both ends share: the token, the paths
and the records; ``spec`` is what a worker is told at start. The coordinator's end (supervisor, registry,
placement, internal routes) is ``weir.coordinator.sfu``.
"""
