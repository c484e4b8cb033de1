"""Webhooks: endpoints in the app settings, a durable outbox written with each event, and a delivery worker.

``signature`` signs and verifies bodies, ``config`` holds the endpoint list and its filter, ``policy`` decides
retries, ``outbox`` reads and writes the delivery rows, ``delivery`` is the worker that POSTs them.
"""
