"""Where calls go among SFU workers, and how the ICE port range is shared out (no processes here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import free_port
from weir.cli import app
from weir.config import Settings
from weir.coordinator.sfu import registry as registry_module
from weir.coordinator.sfu.registry import LiveWorker, NoWorker, WorkerRegistry
from weir.sfu.rtc import IceConfig
from weir.sfu.workers.spec import split_ports, worker_specs


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
    assert registry.claim("default:a", zero) and not registry.claim("default:a", one)
    assert registry.claim("default:new", one) and registry.owner("default:new") is one
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
    registry.hosted(zero, ["default:a"])
    assert registry.calls_of(0) == ["default:a", "default:b"]  # b's participants may still be on their way
    monkeypatch.setattr(registry_module, "GRACE_SECONDS", -1.0)
    registry.hosted(zero, ["default:a"])
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
