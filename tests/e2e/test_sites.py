"""Drill: two sites of a mining group (docs/operations.md, "Several sites"). Each site has
its own manager (its own PostgreSQL schema, interface ``site-a/uagv`` or ``site-b/uagv``)
and robots; their routers are meshed through a link the drill cuts. ``fleet sites`` lists
both through either router while the link is up; each site's orders go only to its own
robots, from its own manager; with the link cut, both missions still complete."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import zenoh
from typer.testing import CliRunner

from fleet import samples
from fleet.cli.main import app
from fleet.comms.config import client_config
from fleet.store import Store
from sim.managers import ManagerProcesses
from sim.runner import RunOptions, SimRun
from sim.scenario import load_scenario

from .tcp_proxy import TcpProxy

pytestmark = [pytest.mark.drill, pytest.mark.timeout(240)]

SPEED = 50.0


def _sites(endpoint: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["sites", "--connect", endpoint, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_two_meshed_sites_keep_to_their_robots_and_run_on_when_cut_apart(
        pg_schemas: Callable[[], str], tmp_path: Path) -> None:
    urls = {"a": pg_schemas(), "b": pg_schemas()}
    for url in urls.values():
        Store.open(url).close()
    with ManagerProcesses(urls["b"], tmp_path / "b", count=1, interface="site-b/uagv",
                          speed=SPEED, prefix="b") as site_b:
        port = int(site_b.endpoints["b1"].rsplit(":", 1)[1])
        link = TcpProxy(("127.0.0.1", port))  # site A's router reaches B's through it
        try:
            with ManagerProcesses(urls["a"], tmp_path / "a", count=1,
                                  interface="site-a/uagv", speed=SPEED, prefix="a",
                                  peers=[f"tcp/127.0.0.1:{link.port}"]) as site_a:
                a_end, b_end = site_a.endpoints["a1"], site_b.endpoints["b1"]
                seen: list[tuple[str, str | None]] = []
                lock = threading.Lock()

                def on_order(sample: zenoh.Sample) -> None:
                    who = None if sample.attachment is None else \
                        json.loads(sample.attachment.to_bytes())["manager"]
                    with lock:
                        seen.append((str(sample.key_expr), who))

                # a listener on site A's router hears site B's orders through the mesh
                session = zenoh.open(client_config([a_end]))
                sub = session.declare_subscriber("**/v2/*/*/order", on_order)
                scenario = load_scenario(samples.path("swap-single-lane"))
                try:
                    assert [(s["site"], s["leader"]) for s in _sites(a_end)] == \
                        [("site-a/uagv", "a1"), ("site-b/uagv", "b1")]
                    with SimRun(scenario, RunOptions(speed=SPEED, connect=(a_end,),
                                                     interface="site-a/uagv")) as run_a, \
                            SimRun(scenario, RunOptions(speed=SPEED,
                                                        connect=(b_end,),
                                                        interface="site-b/uagv")) as run_b:
                        # site B's orders cross the mesh to a listener on site A's router
                        end = time.monotonic() + 30
                        while not any(k.startswith("site-b/") for k, _ in list(seen)):
                            assert time.monotonic() < end, "no order of site B via the mesh"
                            time.sleep(0.1)
                        link.cut()
                        for run in (run_a, run_b):
                            progress = run.run(timeout=150)
                            assert progress.finished, progress
                            status = run.ask("mission/status", {"mission_id": run.mission_id})
                            assert status["status"] == "completed", status
                        assert [s["site"] for s in _sites(a_end)] == ["site-a/uagv"]
                finally:
                    sub.undeclare()
                    session.close()
        finally:
            link.close()
    with lock:
        by_site = {(k.split("/")[0], who) for k, who in seen}
    # every order under site-a came from site A's manager, none of B's robots got one
    assert by_site <= {("site-a", "a1"), ("site-b", "b1")}, by_site
    assert ("site-a", "a1") in by_site
