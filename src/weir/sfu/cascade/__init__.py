"""Cascading: the SFU-to-SFU relay that lets one call span several SFUs.

``wire.py`` is what both ends agree on (a relayed track's description, the layer-demand RTCP packet, the SRTP
keys); ``outbound.py`` (``RelayOut``) sends one published track to one other SFU, ``inbound.py`` (``RelayIn``)
is that track on the SFU it reaches, and ``link.py`` (``RelayLink``) is the UDP socket with one SRTP session
pair per peer SFU that carries both directions.
"""
