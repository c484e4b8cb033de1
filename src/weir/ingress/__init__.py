"""Ingress: encoders publishing into calls over RTMP (``rtmp.py``, ``flv.py``), through a worker process that
joins each stream as a participant with Weir's client SDK (``publication.py``)."""
