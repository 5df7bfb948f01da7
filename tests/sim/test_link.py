"""The 5G link: loss rate, latency within jitter, order, dead zones, delayed delivery."""

from __future__ import annotations

import threading

import pytest

from fleet.clock import ManualClock
from fleet.facility import formats
from fleet.facility.model import Facility
from sim.link import (
    Coverage,
    DelayQueue,
    Delivery,
    Direction,
    Link,
    LinkModel,
    Outcome,
    derive_seed,
)
from tests.sim.factories import ROOT, u_bend


@pytest.fixture(scope="module")
def coal_mine() -> Facility:
    return formats.load(ROOT / "maps" / "coal_mine.yaml")


def _noop() -> None:
    pass


def test_loss_rate_is_near_the_configured_probability() -> None:
    link = Link(LinkModel(latency_ms=30, jitter_ms=10, loss=0.1), u_bend(), seed=3, robot="R")
    n = 20_000
    outcomes = [link.send(i * 0.01, _noop).outcome for i in range(n)]
    lost = outcomes.count(Outcome.LOST) / n
    # binomial standard deviation sqrt(0.1 * 0.9 / 20000) = 0.0021; allow 4 of them
    assert lost == pytest.approx(0.1, abs=0.0085)
    assert link.counts[Outcome.LOST] + link.counts[Outcome.SCHEDULED] == n
    assert len(link.queue) == link.counts[Outcome.SCHEDULED]


def test_no_loss_and_total_loss() -> None:
    fac = u_bend()
    assert all(Link(LinkModel(loss=0.0), fac, seed=1, robot="R").send(0, _noop).delivered
               for _ in range(100))
    link = Link(LinkModel(loss=1.0), fac, seed=1, robot="R")
    assert all(link.send(0, _noop).outcome is Outcome.LOST for _ in range(100))


def test_latency_stays_within_the_jitter_bounds() -> None:
    link = Link(LinkModel(latency_ms=40, jitter_ms=15), u_bend(), seed=5, robot="R",
                ordered=False)
    delays = []
    for i in range(5000):
        d = link.send(float(i), _noop)
        assert d.due is not None
        delays.append(d.due - i)
    assert min(delays) >= 0.025 - 1e-12
    assert max(delays) <= 0.055 + 1e-12
    assert sum(delays) / len(delays) == pytest.approx(0.040, abs=0.001)
    assert max(delays) - min(delays) > 0.025  # jitter actually spreads them


def test_jitter_never_gives_negative_delays() -> None:
    link = Link(LinkModel(latency_ms=5, jitter_ms=50), u_bend(), seed=5, robot="R",
                ordered=False)
    dues = [link.send(10.0, _noop).due for _ in range(1000)]
    assert all(d is not None and d >= 10.0 for d in dues)


def test_ordered_link_never_lets_a_message_overtake() -> None:
    link = Link(LinkModel(latency_ms=40, jitter_ms=30), u_bend(), seed=9, robot="R")
    dues = [link.send(i * 0.001, _noop).due for i in range(2000)]
    assert dues == sorted(dues)  # type: ignore[type-var]


def test_same_seed_same_fates_directions_independent() -> None:
    model = LinkModel(latency_ms=40, jitter_ms=20, loss=0.3)
    fac = u_bend()

    def fates(seed: int, robot: str, direction: Direction) -> list[Delivery]:
        link = Link(model, fac, seed=seed, robot=robot, ordered=False)
        return [link.send(0.0, _noop, direction) for _ in range(200)]

    assert fates(1, "R", Direction.UP) == fates(1, "R", Direction.UP)
    assert fates(1, "R", Direction.UP) != fates(2, "R", Direction.UP)
    assert fates(1, "R", Direction.UP) != fates(1, "S", Direction.UP)
    assert fates(1, "R", Direction.UP) != fates(1, "R", Direction.DOWN)
    assert derive_seed(1, "a") == derive_seed(1, "a") != derive_seed(1, "b")


def test_link_model_refuses_bad_parameters() -> None:
    for kwargs in ({"loss": 1.5}, {"loss": -0.1}, {"latency_ms": -1}, {"jitter_ms": float("nan")},
                   {"loss": True}):
        with pytest.raises(ValueError):
            LinkModel(**kwargs)  # type: ignore[arg-type]


def test_dead_zones_of_the_sample_mine(coal_mine: Facility) -> None:
    cov = Coverage(coal_mine)
    assert {z.id for z in cov.dead_zones()} == {"mr-dead", "nw-dead", "xc-dead", "tg-dead"}
    # nodes inside (boundaries included) and outside the dead zones
    for node in ("mr-ch4-3", "mr-11", "mr-12", "mr-xc3", "nw-07", "door-d2", "tg-roof-1",
                 "tg-03"):
        assert not cov.covered(node), node
    for node in ("mh-00", "mr-10", "face-10", "tg-uc", "dock-01", "mr-13", "tg-05"):
        assert cov.covered(node), node
    offline_points = {p for p in coal_mine.inspection_points if not cov.covered(p)}
    assert offline_points == {"mr-ch4-3", "door-d2", "tg-roof-1", "seal-02"}
    # positions on edges: the level matters
    assert not cov.covered((650.0, -80.0), "L-350")
    assert cov.covered((650.0, -80.0), "L-420")
    assert cov.covered((590.0, -80.0), "L-350")
    assert not cov.covered((2020.0, 320.0), "L-420")
    with pytest.raises(ValueError):
        cov.covered((0.0, 0.0))


def test_offline_messages_are_dropped_until_reconnection(coal_mine: Facility) -> None:
    link = Link(LinkModel(latency_ms=10, jitter_ms=0), coal_mine, seed=1, robot="CR-01")
    assert link.online("mr-ch4-3") is False
    assert link.connected  # online() only asks; update() moves the robot
    assert link.update("mr-10") is True
    assert link.send(0.0, _noop).due == pytest.approx(0.010)
    assert link.update("mr-ch4-3") is False
    assert link.send(1.0, _noop, Direction.DOWN) == Delivery(Outcome.OFFLINE)
    assert link.update((700.0, -80.0), "L-350") is False
    assert link.update("mr-13") is True
    assert link.send(2.0, _noop).delivered
    link.set_down(True)  # a fault takes the radio down wherever the robot is
    assert link.send(3.0, _noop).outcome is Outcome.OFFLINE
    link.set_down(False)
    assert link.send(4.0, _noop).delivered
    assert link.counts == {Outcome.SCHEDULED: 3, Outcome.OFFLINE: 2, Outcome.LOST: 0}


def test_delay_queue_runs_in_due_order_by_the_callers_tick() -> None:
    queue = DelayQueue()
    ran: list[str] = []
    for due, name in ((2.0, "c"), (1.0, "a"), (1.0, "b"), (3.0, "d")):
        queue.push(due, lambda name=name: ran.append(name))  # type: ignore[misc]
    assert queue.next_due() == 1.0
    assert queue.run_due(0.5) == 0
    assert queue.run_due(2.0) == 3
    assert ran == ["a", "b", "c"]  # ties in push order
    assert queue.next_due() == 3.0 and len(queue) == 1
    assert queue.run_due(10.0) == 1 and ran[-1] == "d"
    assert queue.next_due() is None


def test_delay_queue_thread_delivers_on_world_time() -> None:
    clock = ManualClock()
    link = Link(LinkModel(latency_ms=50, jitter_ms=0), u_bend(), seed=1, robot="R")
    arrived = threading.Event()
    link.queue.start(clock)
    try:
        assert link.send(clock.monotonic(), arrived.set).due == pytest.approx(0.05)
        assert not arrived.wait(0.1)  # no world time has passed
        clock.advance(0.04)
        assert not arrived.wait(0.1)
        clock.advance(0.01)
        assert arrived.wait(2.0)
    finally:
        link.queue.close()
    assert len(link.queue) == 0
