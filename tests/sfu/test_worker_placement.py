"""Where calls go among SFU workers, and how the ICE port range is shared out (no processes here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import free_port
from weir.cli import app
from weir.config import Settings
from weir.coordinator.routes.edges import client_region
from weir.coordinator.sfu import registry as registry_module
from weir.coordinator.sfu.registry import LiveWorker, NoAllowedWorker, NoWorker, Wish, WorkerRegistry
from weir.domain.geofence import region_allowed
from weir.sfu.rtc import IceConfig
from weir.sfu.workers.load import Load, interface_bytes
from weir.sfu.workers.spec import NodeSpec, split_ports, worker_specs


async def _ignore(_message: dict[str, object]) -> None:
    return None


def live(registry: WorkerRegistry, index: int) -> LiveWorker:
    worker = LiveWorker(index=index, host="127.0.0.1", port=40_000 + index, pid=1000 + index, send=_ignore)
    registry.attach(worker)
    return worker


def test_the_port_range_is_split_into_disjoint_shares() -> None:
    assert split_ports(40_000, 40_009, 3) == [(40_000, 40_002), (40_003, 40_005), (40_006, 40_009)]
    assert split_ports(0, 0, 2) == [(0, 0), (0, 0)]
    with pytest.raises(ValueError, match="too small for 3 SFU workers"):
        split_ports(40_000, 40_001, 3)


def test_each_worker_gets_its_spec() -> None:
    settings = Settings(host="0.0.0.0", port=3030, api_key="k", api_secret="s", sfu_workers=2,
                        sfu_worker_base_port=5000)
    specs = worker_specs(settings, IceConfig(("127.0.0.1",), 40_000, 40_099), 2)
    assert [(s.index, s.listen_port, s.ice_port_min, s.ice_port_max) for s in specs] == [
        (0, 5000, 40_000, 40_049), (1, 5001, 40_050, 40_099)]
    assert {s.coordinator_url for s in specs} == {"http://127.0.0.1:3030"}  # a wildcard is reached on loopback
    assert Settings.model_validate(specs[0].settings).api_secret == "s"


async def test_calls_go_to_the_least_loaded_worker_and_stay_there() -> None:
    registry = WorkerRegistry()
    zero, one = live(registry, 0), live(registry, 1)
    assert await registry.place("default:a", 0) is zero
    assert await registry.place("default:b", 0) is one
    assert await registry.place("default:a", 0) is zero
    assert await registry.place("default:c", 0) is zero
    assert await registry.claim("default:a", zero) and not await registry.claim("default:a", one)
    assert await registry.claim("default:new", one) and registry.owner("default:new") is one
    registry.detach(zero)  # its calls are placed anew
    assert registry.owner("default:a") is None
    assert await registry.place("default:a", 0) is one


async def test_placements_a_worker_no_longer_hosts_are_forgotten_after_the_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = WorkerRegistry()
    zero = live(registry, 0)
    await registry.place("default:a", 0)
    await registry.place("default:b", 0)
    await registry.hosted(zero, ["default:a"])
    assert registry.calls_of(0) == ["default:a", "default:b"]  # b's participants may still be on their way
    monkeypatch.setattr(registry_module, "GRACE_SECONDS", -1.0)
    await registry.hosted(zero, ["default:a"])
    assert registry.calls_of(0) == ["default:a"]


async def test_placing_without_a_live_worker_waits_then_fails() -> None:
    registry = WorkerRegistry()
    with pytest.raises(NoWorker):
        await registry.place("default:a", 0.05)


@pytest.mark.parametrize("env", [
    {"WEIR_SFU_WORKERS": "4", "WEIR_ICE_PORT_MIN": "50000", "WEIR_ICE_PORT_MAX": "50002"},
    {"WEIR_SFU_WORKERS": "-1"},
])
def test_weir_serve_refuses_a_bad_setting_with_a_message_not_a_traceback(tmp_path: Path, env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["serve", "--data-dir", str(tmp_path), "--port", str(free_port())], env=env)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr, result.stderr
    assert ("too small for 4 SFU workers" in result.stderr) if "WEIR_ICE_PORT_MIN" in env else \
        ("sfu_workers" in result.stderr)


def node(registry: WorkerRegistry, index: int, region: str, capacity: int = 10) -> LiveWorker:
    worker = live(registry, index)
    worker.node = NodeSpec(name=f"{region}-{index}", region=region, public_url="http://10.0.0.1", capacity=capacity)
    return worker


@pytest.mark.parametrize(("region", "names", "allowed"), [
    ("eu", [], True), ("", [], True), ("eu", ["european_union"], True), ("us", ["european_union"], False),
    ("", ["european_union"], False), ("us", ["european_union", "united_states"], True),
    ("ru", ["russia_exclusion"], False), ("eu", ["russia_exclusion"], True),
    ("sy", ["iran_north_korea_syria_exclusion"], False),
    ("EU", ["european_union", "china_exclusion"], True),
])
def test_geofences_admit_their_regions_and_exclusions_remove_theirs(region: str, names: list[str],
                                                                    allowed: bool) -> None:
    assert region_allowed(region, names) is allowed


async def test_nodes_are_chosen_within_the_fence_by_the_calls_node_region_and_load() -> None:
    registry = WorkerRegistry()
    eu, us, eu_busy = node(registry, 1, "eu"), node(registry, 2, "us"), node(registry, 3, "eu", capacity=2)
    await registry.admitted(eu_busy, "default:x", "s1")
    assert await registry.place("default:a", 0, Wish(region="us")) is us  # the client's region
    assert await registry.place("default:a", 0, Wish(region="eu")) is us  # where the call already is
    assert await registry.place("default:b", 0, Wish(("european_union",), "us")) is eu  # the fence wins
    eu.load = Load(cpu_percent=90)  # 90 % of a core: fuller than eu_busy's 1 of 2 participants
    assert await registry.place("default:c", 0, Wish(region="eu")) is eu_busy
    registry.drain(us)  # its calls go elsewhere, and nothing new comes
    assert registry.owner("default:a") is None and not await registry.claim("default:a", us)
    assert await registry.place("default:a", 0, Wish(region="us")) in (eu, eu_busy)
    with pytest.raises(NoAllowedWorker, match=r"geofences \(united_states\)"):
        await registry.place("default:d", 0, Wish(("united_states",)))
    assert set(registry.nodes()) == {"eu-1", "us-2", "eu-3"}


def test_load_counts_the_traffic_of_every_interface_but_loopback() -> None:
    columns = "bytes packets errs drop fifo frame compressed multicast"
    net_dev = (f"Inter-|   Receive |  Transmit\n face |{columns}|{columns}\n"
               "    lo: 5000 10 0 0 0 0 0 0 5000 10 0 0 0 0 0 0\n"
               "  eth0: 1200 3 0 0 0 0 0 0 800 2 0 0 0 0 0 0\n"
               "wg12b: 100 1 0 0 0 0 0 0 50 1 0 0 0 0 0 0\n")
    assert interface_bytes(net_dev) == 1200 + 800 + 100 + 50


def test_a_client_region_is_its_hint_else_where_its_address_is() -> None:
    settings = Settings(api_key="k", api_secret="s", sfu_region_networks={"eu": ["10.1.0.0/16"], "us": ["10.2.0.0/16"]})
    assert client_region(settings, "US", "10.1.2.3") == "us"
    assert client_region(settings, None, "10.1.2.3") == "eu"
    assert client_region(settings, None, "10.2.0.9") == "us"
    assert client_region(settings, None, "192.0.2.1") is None
    assert client_region(settings, None, "testclient") is None
