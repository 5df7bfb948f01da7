"""Robot links of a running manager: several links as one, each robot answered on the
link it was heard on (in-memory network, manual clock)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.manager import VdaZenohLink
from fleet.protocol.keys import Topic

from .harness import Site, open_site

SITE_B = "site-b/uagv"


@pytest.fixture
def two_sites(tmp_path: Path) -> Iterator[Site]:
    """A manager reaching robots on ``uagv`` and on ``site-b/uagv``."""
    yield from open_site(tmp_path, links=lambda bus: [VdaZenohLink(bus, "uagv"),
                                                      VdaZenohLink(bus, SITE_B)])


def test_a_robot_is_answered_on_the_link_it_was_heard_on(two_sites: Site) -> None:
    site = two_sites
    r1 = site.robot("r1", interface=SITE_B)
    run = site.launch()
    order = site.dispatched(r1, run)
    assert order.order_id == run.assignments["r1"].order_id
    r1.send(r1.result("p1"))
    assert r1.wait_for(lambda: bool(r1.acks()))
    site.wait_until(lambda: "p1" in run.done)


def test_refusals_on_any_link_are_shown_and_answered_there(two_sites: Site) -> None:
    site = two_sites
    r1 = site.robot("r1", interface=SITE_B)
    r1.send_raw(Topic.INSPECTION, b'{"resultId": "r-1", "readings": []}')
    assert r1.wait_for(lambda: bool(r1.acks()))
    [rejection] = r1.acks()[0].rejected
    assert rejection.result_id == "r-1"
    assert site.manager.queries.robot("acme", "r1")["last_rejected"]["topic"] == "inspection"
