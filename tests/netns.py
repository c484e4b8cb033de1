"""Network namespaces the tests make: each joined to the root namespace by a veth pair on a private 10.213.x.0/24,
so every packet stays on that pair (or on loopback), never on the machine's external address. Nothing here imports
pytest (bench scripts use it too)."""

from __future__ import annotations

import random
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


def free_subnet() -> str:
    """A 10.213.x (/24) no interface here uses, so that concurrent runs never share one."""
    used = subprocess.run(["ip", "-4", "-o", "addr"], check=True, capture_output=True, text=True).stdout
    free = [n for n in range(256) if f" 10.213.{n}." not in used]
    return f"10.213.{random.choice(free)}"


@contextmanager
def veth_namespace(prefix: str = "weir-gst", routed: bool = False) -> Iterator[tuple[str, str]]:
    """A network namespace joined to this one by a veth pair: (its name, this side's address; the namespace's side
    is the same /24's ``.2``). ``routed``: the namespace's default route is this side, so it also reaches the
    root namespace's addresses on other pairs (delivered locally there: nothing is forwarded)."""
    tag = uuid.uuid4().hex[:6]
    name, outside, inside = f"{prefix}-{tag}", f"wg{tag}a", f"wg{tag}b"
    subnet = free_subnet()
    steps = [
        ["ip", "netns", "add", name],
        ["ip", "link", "add", outside, "type", "veth", "peer", "name", inside],
        ["ip", "link", "set", inside, "netns", name],
        ["ip", "addr", "add", f"{subnet}.1/24", "dev", outside],
        ["ip", "link", "set", outside, "up"],
        ["ip", "netns", "exec", name, "ip", "addr", "add", f"{subnet}.2/24", "dev", inside],
        ["ip", "netns", "exec", name, "ip", "link", "set", inside, "up"],
        ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"],
    ]
    if routed:
        steps.append(["ip", "netns", "exec", name, "ip", "route", "add", "default", "via", f"{subnet}.1"])
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True)
        yield name, f"{subnet}.1"
    finally:
        subprocess.run(["ip", "link", "del", outside], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


@contextmanager
def veth_link(first: str, second: str) -> Iterator[tuple[str, str]]:
    """A veth pair straight between two namespaces (hosts on one private network, reaching each other without the
    root namespace): (``first``'s address, ``second``'s)."""
    tag = uuid.uuid4().hex[:6]
    one, two = f"wl{tag}a", f"wl{tag}b"
    subnet = free_subnet()
    steps = [["ip", "link", "add", one, "netns", first, "type", "veth", "peer", "name", two, "netns", second]]
    for namespace, device, address in ((first, one, f"{subnet}.1"), (second, two, f"{subnet}.2")):
        steps += [["ip", "netns", "exec", namespace, "ip", "addr", "add", f"{address}/24", "dev", device],
                  ["ip", "netns", "exec", namespace, "ip", "link", "set", device, "up"]]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True)
        yield f"{subnet}.1", f"{subnet}.2"
    finally:
        subprocess.run(["ip", "netns", "exec", first, "ip", "link", "del", one], capture_output=True)
