"""The coordinator's side of the SFU: WHIP and WHEP, the coordinator link's answering end, and the media workers'
supervision, registry, placement and internal channel.

``weir.sfu`` never imports this package: the SFU reaches the coordinator only through ``CoordinatorLink``
(``weir.sfu.signaling.link``) and is reached through ``MediaEntry`` (``weir.sfu.entry``).
"""
