"""WebRTC pieces both ends of a media connection share: the SFU (``weir.sfu``) and the client SDK (``weir.client``).

``config`` (which addresses and ports ICE gathers), ``ice`` (aioice connections on those addresses, with ICE
restarts), ``sdp`` (parsing and writing descriptions) and ``extensions`` (the RTP header extensions both sides
negotiate). ``aiortc_adapter`` is the one module that reaches into aiortc's and aioice's private members, checked
against the versions it was written for. This package imports nothing else of Weir's.
"""
