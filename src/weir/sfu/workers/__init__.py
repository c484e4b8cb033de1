"""SFU media workers: processes of their own, each running an ``SfuServer`` for the calls it owns.

The main process (coordinator) starts them (``supervisor``), picks each call's worker (``registry``) and answers
their coordinator link over an internal channel (``internal_routes``); a worker (``process``) reaches it through
``RemoteCoordinator`` (``remote``). ``channel`` is what both ends share: the token, the paths and the records.
"""
