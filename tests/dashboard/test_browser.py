"""The dashboard in a real browser (headless Chromium) during a simulated run: one marker
per robot, markers that move, a killed robot turning "lost", an anomaly acknowledged from
the page (and in the store), and a screenshot for the docs (docs/dashboard.png).

Skips when selenium, Chromium or chromedriver is missing (.ci/chromium.sh installs them).
"""

from __future__ import annotations

import json
import math
import random
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.comms import Bus, MemoryNetwork, client_config, free_port
from fleet.dashboard.feed import Feed
from fleet.dashboard.server import Options, Server, config
from fleet.protocol.keys import Topic, topic_key
from sim.runner import SimRun
from sim.scenario import load_scenario
from tests.dashboard.fakes import FakeManager, robot

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
LEAK = ROOT / "sim" / "scenarios" / "coal_mine_methane_leak.yaml"
SUPERVISOR = "dash-test"


def _browser() -> Any:
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("chromium or chromedriver is missing (bash .ci/chromium.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--disable-gpu", "--window-size=1500,950"):
        options.add_argument(flag)
    from selenium.webdriver.chrome.service import Service
    return webdriver.Chrome(service=Service(driver), options=options)


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = _browser()
    yield driver
    driver.quit()


def serve_dashboard(feed: Feed) -> tuple[str, Callable[[], None]]:
    """A dashboard on a free loopback port serving ``feed`` (started here); its URL and
    what stops it."""
    port = free_port()
    server = Server(config(Options(port=port, local_name=SUPERVISOR), feed), feed)
    feed.start()
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait(lambda: server.started, 10, "the dashboard did not start")

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        feed.close()

    return f"http://127.0.0.1:{port}/", stop


def wait(what: Callable[[], Any], timeout: float, message: str) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = what()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(message)


def high_methane(serial: str, point: str) -> dict[str, Any]:
    """An inspection result (docs/protocol.md) with 3 % CH4 at ``point``."""
    now = datetime.now(UTC)
    return {"headerId": 0, "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{now.microsecond // 1000:03d}Z", "version": "2.1.0", "manufacturer": "acme",
            "serialNumber": serial, "resultId": str(uuid.uuid4()), "orderId": "manual-1",
            "actionId": "inspect-0", "inspectionPointId": point, "nodeId": point,
            # where face-10 is (maps/coal_mine.yaml): the manager refuses a result taken
            # elsewhere (docs/protocol.md, "Plausibility")
            "agvPosition": {"x": 2000.0, "y": 600.0, "theta": 0.0, "mapId": "L-420",
                            "positionInitialized": True},
            "readings": [{"sensor": "ch4", "value": 3.0, "unit": "%vol"}]}


def test_the_dashboard_follows_a_simulated_run(sim_run: Callable[..., SimRun],
                                               browser: Any) -> None:
    from selenium.webdriver import ActionChains
    from selenium.webdriver.support.ui import Select

    scenario = replace(load_scenario(LEAK), faults=())  # the test kills a robot itself
    run = sim_run(scenario, speed=60.0)
    assert run.embedded is not None
    url, stop = serve_dashboard(Feed(lambda: Bus.open(client_config([run.endpoint])), "uagv",
                                     where=run.endpoint))
    try:
        browser.get(url)

        def markers() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = browser.execute_script(
                "return window.dashboard ? window.dashboard.markers() : []")
            return found

        robots = {r.serial for r in scenario.fleet.robots}
        # one marker per robot the manager knows, every one of them online
        wait(lambda: {m["serial"] for m in markers()} == robots, 20,
             f"markers {markers()} are not one per robot {robots}")
        assert browser.execute_script("return window.dashboard.connected()")
        assert len(markers()) == len(robots)
        # the markers move between two looks
        first = {m["serial"]: (m["x"], m["y"]) for m in markers()}
        wait(lambda: any(abs(m["x"] - first[m["serial"]][0])
                         + abs(m["y"] - first[m["serial"]][1]) > 0.5 for m in markers()),
             15, "no marker moved")
        # a robot killed in the simulation turns "lost"
        working = wait(lambda: [m["serial"] for m in markers() if m["activity"] == "working"],
                       20, "no robot working")
        doomed = working[0]
        run.kill(doomed)
        wait(lambda: any(m["serial"] == doomed and m["activity"] == "lost"
                         for m in markers()), 20, f"{doomed} never turned lost")
        # an anomaly raised by a result, acknowledged from the page with a note
        with Bus.open(client_config([run.endpoint])) as bus:
            bus.publish_raw(topic_key("uagv", "acme", "DASH-1", Topic.INSPECTION),
                            json.dumps(high_methane("DASH-1", "face-10")).encode())
            rows = wait(lambda: [r for r in browser.find_elements("css selector",
                                                                  "#anomalies li")
                                 if " ch4 " in r.text], 20, "no ch4 anomaly on the page")
        anomaly_id = int(rows[0].get_attribute("data-anomaly"))
        rows[0].click()
        browser.find_element("id", "ack").click()  # without a note: refused on the page
        assert browser.find_element("id", "action-result").text == "a note is required"
        browser.find_element("id", "note").send_keys("gas team sent to face-10")
        browser.find_element("id", "ack").click()
        wait(lambda: "acknowledged" in browser.find_element("id", "action-result").text, 10,
             "the page did not report the acknowledgement: "
             + browser.find_element("id", "action-result").text)
        # selecting a reading's anomaly shows its point's trend, with the reading in it
        wait(lambda: "readings" in browser.find_element("id", "trend-note").text, 10,
             "no trend: " + browser.find_element("id", "trend-note").text)
        row = run.embedded.store.anomaly(anomaly_id)
        assert row is not None and row.status == "acknowledged"
        assert (row.acknowledged_by, row.ack_note) == (
            SUPERVISOR, "gas team sent to face-10")
        # and as the supervisor's CLI shows it: `fleet anomalies show ID`
        shown = CliRunner().invoke(app, ["anomalies", "show", str(anomaly_id), "--connect",
                                         run.endpoint, "--json"])
        assert shown.exit_code == 0, shown.output
        acked = json.loads(shown.stdout)["anomaly"]
        assert (acked["status"], acked["acknowledged_by"], acked["ack_note"]) == (
            "acknowledged", SUPERVISOR, "gas team sent to face-10")
        # the lost robot's level (the leak's too), and its panel on a click: the screenshot
        lost = next(m for m in markers() if m["serial"] == doomed)
        level = next((key for key in browser.execute_script("return window.dashboard.levels()")
                      if key.endswith(f"/{lost['level']}")), None)
        if level is not None:
            Select(browser.find_element("id", "level")).select_by_value(level)
            time.sleep(0.3)
        canvas = browser.find_element("id", "map")
        x, y = browser.execute_script("return window.dashboard.screen(arguments[0])", doomed)
        size = canvas.size
        ActionChains(browser).move_to_element_with_offset(
            canvas, int(x - size["width"] / 2), int(y - size["height"] / 2)).click().perform()
        wait(lambda: browser.find_element("id", "robot-panel").is_displayed(), 5,
             "no panel for the robot clicked")
        assert "lost" in browser.find_element("id", "robot-facts").text
        time.sleep(0.5)
        browser.save_screenshot(str(ROOT / "docs" / "dashboard.png"))
        logs = browser.get_log("browser") if hasattr(browser, "get_log") else []
        assert not [e for e in logs if e.get("level") == "SEVERE"], logs
    finally:
        stop()


def test_a_thousand_robots_stay_smooth(browser: Any) -> None:
    """A thousand robots all moving, every one in each 0.5 s message: every marker is
    drawn, the page keeps its frame rate, and no DOM element exists per robot."""
    network = MemoryNetwork()
    manager = FakeManager(network)
    rng = random.Random(1)
    robots = [robot(f"R{n:04d}", x=rng.uniform(0, 10), y=rng.uniform(-3, 3))
              for n in range(1000)]
    manager.publish(robots=robots)
    url, stop_dashboard = serve_dashboard(
        Feed(lambda: Bus(network.transport()), "uagv", where="memory"))
    stop = threading.Event()

    def move() -> None:
        tick = 0
        while not stop.wait(0.5):
            tick += 1
            manager.publish(robots=[{**r, "x": r["x"] + math.sin(tick + i) * 0.3,
                                     "activity": ("working", "waiting", "idle")[(tick + i) % 3]}
                                    for i, r in enumerate(robots)])

    mover = threading.Thread(target=move, daemon=True)
    mover.start()
    try:
        browser.get(url)
        wait(lambda: browser.execute_script(
            "return window.dashboard && window.dashboard.markers().length") == 1000, 20,
            "not every robot has a marker")
        fps = browser.execute_async_script("""
            const done = arguments[0]; let frames = 0; const t0 = performance.now();
            function count() { frames++; if (performance.now() - t0 < 3000)
              requestAnimationFrame(count); else done(frames / 3); }
            requestAnimationFrame(count);""")
        assert fps >= 15, f"{fps:.1f} frames per second with a thousand robots"
        elements = browser.execute_script("return document.getElementsByTagName('*').length")
        assert elements < 300, f"{elements} DOM elements: one per robot?"
    finally:
        stop.set()
        mover.join(timeout=5)
        stop_dashboard()
        network.close()


def test_the_page_says_when_the_manager_is_not_reachable_and_recovers(browser: Any) -> None:
    network = MemoryNetwork()
    url, stop = serve_dashboard(
        Feed(lambda: Bus(network.transport()), "uagv", where="tcp/10.0.0.5:7447"))
    try:
        browser.get(url)

        def status() -> str:
            text: str = browser.find_element("id", "status").text
            return text

        wait(lambda: status().startswith("manager not reachable at tcp/10.0.0.5:7447"), 10,
             f"the page says {status()!r}")
        manager = FakeManager(network)  # the manager comes (back)
        manager.publish(robots=[robot("r1")])
        wait(lambda: status() == "live", 10, f"the page says {status()!r}")
        wait(lambda: browser.execute_script("return window.dashboard.markers().length") == 1,
             10, "no marker for the manager's robot")
        assert "Traceback" not in browser.page_source
    finally:
        stop()
        network.close()
