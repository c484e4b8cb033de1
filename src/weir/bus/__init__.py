"""Publish/subscribe for call and user events: in-process by default, Redis when scaled out."""

from weir.bus.base import Envelope, EventBus, Subscription
from weir.bus.durable import DurableSink
from weir.bus.memory import InMemoryBus

__all__ = ["DurableSink", "Envelope", "EventBus", "InMemoryBus", "Subscription"]
