"""Realistic example messages of every topic, for tests, benchmarks and documentation.

Each function returns a fresh, valid model for robot ``acme``/``r1`` on map ``L1``; the
state is that of a robot half-way through a 10-stop inspection round, which is what the
manager receives most of the time.
"""

from __future__ import annotations

from fleet.protocol.factsheet import (
    Epl,
    Factsheet,
    InspectionCapabilities,
    PhysicalParameters,
    TypeSpecification,
)
from fleet.protocol.header import Header
from fleet.protocol.inspection import (
    Finding,
    InspectionAck,
    InspectionResult,
    InspectParams,
    Reading,
    Rejection,
    Severity,
    inspect_action,
)
from fleet.protocol.order import (
    Action,
    ActionType,
    BlockingType,
    InstantActions,
    NodePosition,
    Order,
    RouteLeg,
    RouteStop,
    route_order,
)
from fleet.protocol.state import (
    ActionState,
    ActionStatus,
    AgvPosition,
    BatteryState,
    Connection,
    ConnectionState,
    EdgeState,
    NodeState,
    State,
    Velocity,
)

MANUFACTURER = "acme"
SERIAL = "r1"
MAP_ID = "L1"
TIMESTAMP = "2024-05-01T10:00:00.123Z"
RESULT_ID = "9b2f6a52-3c1e-4d7a-9a55-0d2f4b8e7c11"


def header(header_id: int = 0) -> Header:
    """A fixed header for robot acme/r1."""
    return Header(MANUFACTURER, SERIAL, header_id, TIMESTAMP)


def _stops(count: int) -> tuple[list[RouteStop], list[RouteLeg]]:
    stops = []
    for i in range(count):
        actions: tuple[Action, ...] = ()
        if i % 2 == 1:
            params = InspectParams(f"ip{i}", ("ch4", "co", "o2"), 30.0)
            actions = (inspect_action(f"inspect-{i}", params),)
        stops.append(RouteStop(f"n{i}", NodePosition(10.0 * i, 2.5, MAP_ID, 0.0), actions))
    legs = [RouteLeg(f"e{i}", length=10.0, max_speed=1.0) for i in range(count - 1)]
    return stops, legs


def order(stops: int = 10, base_end: int = 5) -> Order:
    """A first order over ``stops`` stops, released up to stop ``base_end``."""
    route, legs = _stops(stops)
    return route_order(header(), "patrol-42", route, legs, base_end=base_end)


def instant_actions() -> InstantActions:
    """A factsheetRequest and a cancelOrder."""
    return InstantActions(header(), (
        Action("ia-1", ActionType.FACTSHEET_REQUEST, BlockingType.NONE),
        Action("ia-2", ActionType.CANCEL_ORDER, BlockingType.NONE),
    ))


def state(stops: int = 10, reached: int = 3) -> State:
    """The state of a robot that has reached stop ``reached`` of :func:`order`'s route."""
    sent = order(stops, base_end=min(5, stops - 1))
    nodes = tuple(NodeState(n.node_id, n.sequence_id, n.released, n.position)
                  for n in sent.nodes if n.sequence_id > 2 * reached)
    edges = tuple(EdgeState(e.edge_id, e.sequence_id, e.released)
                  for e in sent.edges if e.sequence_id > 2 * reached)
    actions = []
    for node in sent.nodes:
        for action in node.actions:
            status = ActionStatus.FINISHED if node.sequence_id <= 2 * reached else (
                ActionStatus.WAITING)
            actions.append(ActionState(action.action_id, status, action.action_type))
    return State(
        header=header(17), battery=BatteryState(76.5, False, 48.1, reach=4200.0),
        order_id=sent.order_id, order_update_id=sent.order_update_id,
        last_node_id=f"n{reached}", last_node_sequence_id=2 * reached,
        node_states=nodes, edge_states=edges, action_states=tuple(actions), driving=True,
        agv_position=AgvPosition(10.0 * reached + 3.2, 2.5, 0.0, MAP_ID, True, 0.93),
        velocity=Velocity(0.8, 0.0, 0.0), distance_since_last_node=3.2,
        new_base_request=False, paused=False,
    )


def connection(online: bool = True) -> Connection:
    """ONLINE (or OFFLINE) for robot acme/r1."""
    return Connection(header(), ConnectionState.ONLINE if online else ConnectionState.OFFLINE)


def factsheet() -> Factsheet:
    """An explosion-protected (Gb) gas-inspection robot."""
    return Factsheet(
        header=header(),
        type_specification=TypeSpecification("acme-crawler", series_description="gas patrol"),
        physical_parameters=PhysicalParameters(speed_max=1.2, width=0.7, length=1.1),
        inspection=InspectionCapabilities(("ch4", "co", "o2", "h2s", "temperature"),
                                          frozenset({Epl.GB}), battery_wh=1200.0,
                                          wh_per_metre=0.05, wh_per_second=0.02,
                                          charge_w=600.0),
    )


def inspection_result() -> InspectionResult:
    """The readings of stop n1 with one finding."""
    return InspectionResult(
        header=header(3), result_id=RESULT_ID, order_id="patrol-42", action_id="inspect-1",
        inspection_point_id="ip1", node_id="n1",
        agv_position=AgvPosition(10.0, 2.5, 0.0, MAP_ID),
        readings=(Reading("ch4", 0.8, "%vol"), Reading("co", 12.0, "ppm"),
                  Reading("o2", 20.6, "%vol")),
        findings=(Finding("gasLeak", Severity.WARNING, "CH4 above 0.5 %vol", 0.9),),
    )


def inspection_ack() -> InspectionAck:
    """The acknowledgement of :func:`inspection_result`."""
    return InspectionAck(header(), (RESULT_ID,))


REJECTED_ID = "4c0e8d7a-51f2-4b3e-8a6d-2f9c1e7b5a30"
"""The resultId of a result the manager refuses in :func:`inspection_rejection`."""


def inspection_rejection() -> InspectionAck:
    """An answer that refuses one result (nothing acknowledged): its readings were invalid."""
    reason = "inspection message invalid at $.readings[0].value: expected number, got \"high\""
    return InspectionAck(header(1), (), (Rejection(REJECTED_ID, reason),))


def all_examples() -> list[
    Order | InstantActions | State | Connection | Factsheet | InspectionResult | InspectionAck
]:
    """One example of every topic."""
    return [order(), instant_actions(), state(), connection(), factsheet(),
            inspection_result(), inspection_ack()]
