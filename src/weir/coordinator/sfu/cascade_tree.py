"""``CascadeTree``: how one call's hosts relay to each other: a full mesh while it is small, a tree once it is not.

While every host would relay to at most ``fanout`` others (hosts ≤ fanout + 1), the hosts form a mesh: each sends
its own tracks to every other. Beyond that they form a tree rooted at the origin (the call's first host, where a
livestream's publisher is): each host has a parent and at most ``fanout`` children, and a track goes along the
tree's edges, each host passing on what it receives to its other neighbours. A new host hangs under the shallowest
host with a free child slot (the earliest such), so the tree stays as flat as the fan-out allows (origin → relays
→ edges). A host that leaves takes only itself out: its children, each with its subtree, hang again under the
shallowest host with room outside that subtree (its parent first, when it has room). A draining host takes no
new children and gives away those it has, while it still serves its own participants.

The arrangement is kept for the life of the call, so a host's place in it changes only when a host comes or goes.
"""

from __future__ import annotations

__all__ = ["CascadeTree"]


class CascadeTree:
    def __init__(self, fanout: int) -> None:
        if fanout < 1:
            raise ValueError("a cascade tree needs a fan-out of at least 1")
        self.fanout = fanout
        self.parent: dict[int, int | None] = {}  # host → its parent (None: the origin); insertion order = arrival
        self.draining: set[int] = set()

    @property
    def hosts(self) -> list[int]:
        return list(self.parent)

    @property
    def mesh(self) -> bool:
        """Small enough for every host to send to every other within the fan-out."""
        return len(self.parent) <= self.fanout + 1

    @property
    def origin(self) -> int | None:
        return next((host for host, parent in self.parent.items() if parent is None), None)

    def children(self, host: int) -> list[int]:
        return [child for child, parent in self.parent.items() if parent == host]

    def neighbours(self, host: int) -> list[int]:
        """Whom ``host`` relays with: every other host in a mesh; its parent and children in a tree."""
        if self.mesh:
            return [other for other in self.parent if other != host]
        parent = self.parent.get(host)
        return ([] if parent is None else [parent]) + self.children(host)

    def depth(self, host: int) -> int:
        depth, parent = 0, self.parent[host]
        while parent is not None:
            depth, parent = depth + 1, self.parent[parent]
        return depth

    def add(self, host: int) -> None:
        """A new host: the origin if it is the first, else under the shallowest host with room."""
        if host in self.parent:
            return
        self.parent[host] = self._room(set()) if self.parent else None

    def remove(self, host: int) -> None:
        """``host`` left the call (or died): its children hang elsewhere; the origin's first child succeeds it."""
        if host not in self.parent:
            return
        orphans = self.children(host)
        parent = self.parent.pop(host)
        self.draining.discard(host)
        if parent is None and orphans:
            heir = orphans.pop(0)
            self.parent[heir] = None
        elif parent is not None and orphans and self._has_room(parent):
            self.parent[orphans.pop(0)] = parent
        for orphan in orphans:
            self._reattach(orphan)

    def drain(self, host: int) -> None:
        """``host`` is draining: it keeps its place but no children (they hang elsewhere, where there is room)."""
        if host not in self.parent or host in self.draining:
            return
        self.draining.add(host)
        for child in self.children(host):
            self._reattach(child)

    def _reattach(self, host: int) -> None:
        subtree = self._subtree(host)
        try:
            self.parent[host] = self._room(subtree)
        except LookupError:  # nowhere else: it stays where it is
            pass

    def _subtree(self, host: int) -> set[int]:
        found, frontier = {host}, [host]
        while frontier:
            node = frontier.pop()
            for child in self.children(node):
                found.add(child)
                frontier.append(child)
        return found

    def _has_room(self, host: int) -> bool:
        return host not in self.draining and len(self.children(host)) < self.fanout

    def _room(self, excluded: set[int]) -> int:
        """The shallowest host with a free child slot outside ``excluded`` (the earliest among equals)."""
        candidates = [host for host in self.parent if host not in excluded and self._has_room(host)]
        if not candidates:  # every host is full (or draining): the fan-out gives way before a host is left out
            candidates = [host for host in self.parent if host not in excluded and host not in self.draining]
        if not candidates:
            candidates = [host for host in self.parent if host not in excluded]
        if not candidates:
            raise LookupError("no host can take a child")
        order = {host: n for n, host in enumerate(self.parent)}
        return min(candidates, key=lambda host: (self.depth(host), order[host]))
