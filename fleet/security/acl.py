"""The router's access control (Zenoh 1.x ``access_control``), built from the registry.

Default permission is ``deny``: a message passes the router only when a rule below allows
it for the certificate common name of the session it comes from (``ingress``) or goes to
(``egress``). Per robot ``M/S`` on interface ``I`` (``R = I/v2/M/S``):

=====================  ===================================  =================================
rule                   messages, flow                       key expressions
=====================  ===================================  =================================
report                 put, ingress                         ``R/state``, ``R/connection``,
                                                            ``R/factsheet``, ``R/inspection``
token                  liveliness_token, ingress            ``R/alive``
listen                 declare_subscriber, ingress          ``R/*`` (the agent's one
                                                            subscription; see below)
receive                put, egress                          ``R/order``, ``R/instantActions``,
                                                            ``R/inspectionAck``
=====================  ===================================  =================================

The ``listen`` rule lets a robot declare its single subscription ``R/*``, but only
``receive`` decides what reaches it: the router forwards nothing else to that robot, so a
robot hears its own three manager topics and nothing of any other robot (nor its own
reports echoed back, which the agent skips anyway).

Supervisors: ``query`` ingress and ``reply`` egress on ``I/manager/**`` (the API's
answers travel from the router to the CLI), and subscriptions to the anomaly alerts
``I/manager/alerts`` and to the dashboards' live feed ``I/manager/live`` and
``I/manager/live/**`` (``declare_subscriber`` ingress, ``put`` egress). Robots get none of
these: alerts and the feed name anomalies and robots across the site. The manager's
certificate may do everything on ``I/**``: that subject matters only when the manager runs
as a client of a separate router carrying this configuration; the embedded manager's own
session is inside the router, where no access control applies (Zenoh filters the messages
of remote sessions, at their link; tests/security shows the embedded manager working
without that subject).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fleet.protocol.keys import ALIVE, Topic, check_interface
from fleet.security.pki import MANAGER_CN, Authority, Holder, Role

ROBOT_REPORTS = (Topic.STATE, Topic.CONNECTION, Topic.FACTSHEET, Topic.INSPECTION)
"""What a robot may publish, on its own keys only."""

ROBOT_RECEIVES = (Topic.ORDER, Topic.INSTANT_ACTIONS, Topic.INSPECTION_ACK)
"""What the router forwards to a robot, from its own keys only."""

ALL_MESSAGES = ("put", "delete", "declare_subscriber", "query", "reply", "declare_queryable",
                "liveliness_token", "declare_liveliness_subscriber", "liveliness_query")


def _rule(rule_id: str, messages: Iterable[str], flow: str | None,
          key_exprs: Iterable[str]) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": rule_id, "permission": "allow", "messages": list(messages),
                            "key_exprs": list(key_exprs)}
    rule["flows"] = [flow] if flow else ["ingress", "egress"]
    return rule


def access_control(interface: str, *, robots: Iterable[Holder],
                   supervisors: Iterable[Holder], manager_cn: str = MANAGER_CN
                   ) -> dict[str, Any]:
    """The ``access_control`` section for the given active holders (deny by default)."""
    check_interface(interface)
    rules: list[dict[str, Any]] = []
    subjects: list[dict[str, Any]] = []
    policies: list[dict[str, Any]] = []

    def grant(subject_id: str, cn: str, rule_list: list[dict[str, Any]]) -> None:
        rules.extend(rule_list)
        subjects.append({"id": subject_id, "cert_common_names": [cn]})
        policies.append({"id": f"policy {subject_id}", "subjects": [subject_id],
                         "rules": [r["id"] for r in rule_list]})

    grant("manager", manager_cn, [_rule("manager all", ALL_MESSAGES, None, [f"{interface}/**"])])
    sup = [h.cn for h in supervisors]
    if sup:
        api = f"{interface}/manager/**"
        # the anomaly alerts, and the live feed of dashboards (fleet.manager.live)
        feeds = [f"{interface}/manager/alerts", f"{interface}/manager/live",
                 f"{interface}/manager/live/**"]
        rules.extend([_rule("supervisor query", ["query"], "ingress", [api]),
                      _rule("supervisor reply", ["reply"], "egress", [api]),
                      _rule("supervisor alerts subscribe", ["declare_subscriber"], "ingress",
                            feeds),
                      _rule("supervisor alerts", ["put"], "egress", feeds)])
        subjects.append({"id": "supervisors", "cert_common_names": sup})
        policies.append({"id": "policy supervisors", "subjects": ["supervisors"],
                         "rules": ["supervisor query", "supervisor reply",
                                   "supervisor alerts subscribe", "supervisor alerts"]})
    for robot in robots:
        root = f"{interface}/v2/{robot.name}"
        rid = f"robot {robot.name}"
        grant(rid, robot.cn, [
            _rule(f"{rid} report", ["put"], "ingress", [f"{root}/{t}" for t in ROBOT_REPORTS]),
            _rule(f"{rid} token", ["liveliness_token"], "ingress", [f"{root}/{ALIVE}"]),
            _rule(f"{rid} listen", ["declare_subscriber"], "ingress", [f"{root}/*"]),
            _rule(f"{rid} receive", ["put"], "egress", [f"{root}/{t}" for t in ROBOT_RECEIVES]),
        ])
    return {"enabled": True, "default_permission": "deny", "rules": rules,
            "subjects": subjects, "policies": policies}


def site_access_control(authority: Authority, interface: str) -> dict[str, Any]:
    """:func:`access_control` for every active (not revoked) holder of ``authority``."""
    return access_control(interface, robots=authority.active(Role.ROBOT),
                          supervisors=authority.active(Role.SUPERVISOR))
