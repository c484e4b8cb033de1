"""WebRTC pieces both ends of a media connection share: the SFU (``weir.sfu``) and the client SDK (``weir.client``).

``config`` (which addresses and ports ICE gathers), ``ice`` (aioice connections on those addresses, with ICE
restarts), ``sdp`` (parsing and writing descriptions) and ``extensions`` (the RTP header extensions both sides
negotiate). This package imports nothing else of Weir's.
"""
