"""A plain VDA 5050 2.0 robot over MQTT, written from the standard's 2.0 text and schemas
with nothing but paho-mqtt and json (no code of this project): run as a program.

What the 2.0 text asks of a vehicle, as a real one does it:

- MQTT topics ``{interface}/v2/{manufacturer}/{serialNumber}/{topic}``; QoS 0 for order,
  instantActions, state, factsheet; ``connection`` QoS 1 and retained, with the last will
  CONNECTIONBROKEN (retained) set at connect; ONLINE on connect, OFFLINE before a clean
  disconnect.
- Header ``version`` "2.0.0"; instant actions read by ``actionType`` (the text) or
  ``actionName`` (the 2.0.0 schema's name).
- The factsheet only on ``factsheetRequest`` (2.0 has no rule to publish it unasked);
  ``defaultStateInterval`` declared in it and honoured: a state on every change and at
  least that often (here :data:`STATE_INTERVAL_S`, above the manager's 3 s timeout, so the
  manager must judge it by its own interval).
- Orders followed through the released base, ``inspect`` actions of the project's
  documented extension (docs/protocol.md) run and their results published on
  ``inspection`` until acknowledged.

Environment: ``BROKER`` (host:port), ``SERIAL``, ``RECEIVED`` (a file: every message the
manager sends is appended as one JSON line, for the test to check against the official
2.0.0 schemas). SIGTERM ends it cleanly.
"""

import json
import os
import queue
import signal
import time
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

HOST, PORT = os.environ["BROKER"].rsplit(":", 1)
MANUFACTURER, SERIAL = "acme", os.environ.get("SERIAL", "v20")
BASE = f"uagv/v2/{MANUFACTURER}/{SERIAL}"
RECEIVED = os.environ["RECEIVED"]
STATE_INTERVAL_S = 5.0
UNITS = {"ch4": "%vol", "o2": "%vol", "co": "ppm"}
FACTSHEET = {
    "typeSpecification": {"seriesName": "v20", "agvKinematic": "DIFF", "agvClass": "CARRIER",
                          "maxLoadMass": 0, "localizationTypes": ["NATURAL"],
                          "navigationTypes": ["AUTONOMOUS"]},
    "physicalParameters": {"speedMin": 0, "speedMax": 1.0, "accelerationMax": 0.5,
                           "decelerationMax": 0.5, "heightMax": 1.0, "width": 0.6,
                           "length": 1.0},
    "protocolLimits": {"maxStringLens": {}, "maxArrayLens": {},
                       "timing": {"minOrderInterval": 1.0, "minStateInterval": 0.1,
                                  "defaultStateInterval": STATE_INTERVAL_S}},
    "protocolFeatures": {"optionalParameters": [], "agvActions": [
        {"actionType": "inspect", "actionScopes": ["NODE"]},
        {"actionType": "factsheetRequest", "actionScopes": ["INSTANT"]},
        {"actionType": "cancelOrder", "actionScopes": ["INSTANT"]}]},
    "agvGeometry": {}, "loadSpecification": {},
    "inspection": {"sensors": ["ch4", "co", "o2"], "epl": "Gb", "batteryWh": 1000.0,
                   "whPerMetre": 0.05, "whPerSecond": 0.02, "chargeW": 500.0},
}
header_ids: dict[str, int] = {}


def message(topic: str, body: dict) -> str:
    header_ids[topic] = header_ids.get(topic, -1) + 1
    now = datetime.now(UTC)
    return json.dumps({"headerId": header_ids[topic],
                       "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.")
                       + f"{now.microsecond // 1000:03d}Z",
                       "version": "2.0.0", "manufacturer": MANUFACTURER,
                       "serialNumber": SERIAL, **body})


inbox: "queue.Queue[tuple[str, dict]]" = queue.Queue()
stop: list[bool] = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(True))


def on_message(_client, _userdata, msg) -> None:
    try:
        body = json.loads(msg.payload)
    except ValueError:
        print("dropped a message that is not JSON", flush=True)
        return
    with open(RECEIVED, "a", encoding="utf-8") as out:
        out.write(json.dumps({"topic": msg.topic.rsplit("/", 1)[1], "message": body}) + "\n")
    inbox.put((msg.topic.rsplit("/", 1)[1], body))


def on_connect(client, _userdata, _flags, _reason, _properties) -> None:
    for topic in ("order", "instantActions", "inspectionAck"):
        client.subscribe(f"{BASE}/{topic}", qos=0 if topic != "inspectionAck" else 1)
    client.publish(f"{BASE}/connection", message("connection", {"connectionState": "ONLINE"}),
                   qos=1, retain=True)


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{MANUFACTURER}-{SERIAL}")
client.will_set(f"{BASE}/connection",
                message("connection", {"connectionState": "CONNECTIONBROKEN"}),
                qos=1, retain=True)
client.on_connect = on_connect
client.on_message = on_message
client.connect(HOST, int(PORT), keepalive=5)
client.loop_start()


def send(topic: str, body: dict, qos: int = 0) -> None:
    client.publish(f"{BASE}/{topic}", message(topic, body), qos=qos)


order = {"orderId": "", "orderUpdateId": 0, "lastNodeId": "", "lastNodeSequenceId": 0}
nodes: list = []
edges: list = []
todo: list = []
actions: dict = {}
running = None
unacked: dict = {}
last_node = None
position = {"x": 0.0, "y": 0.0, "theta": 0.0, "mapId": "L1", "positionInitialized": True}
changed, last_state, last_resend, next_move = True, 0.0, time.monotonic(), 0.0
while not stop:
    try:
        topic, msg = inbox.get(timeout=0.05)
    except queue.Empty:
        topic, msg = "", {}
    if topic == "order":
        new = msg["orderId"] != order["orderId"]
        if new or msg["orderUpdateId"] > order["orderUpdateId"]:
            order["orderId"], order["orderUpdateId"] = msg["orderId"], msg["orderUpdateId"]
            done = -1 if new else order["lastNodeSequenceId"]
            keep = -1 if new else msg["nodes"][0]["sequenceId"]
            nodes = ([n for n in nodes if n["sequenceId"] < keep]
                     + [n for n in msg["nodes"] if n["sequenceId"] > done])
            edges = ([e for e in edges if e["sequenceId"] < keep]
                     + [e for e in msg["edges"] if e["sequenceId"] > done])
            if new:
                actions = {}
            for node in msg["nodes"]:
                for a in node["actions"]:
                    actions.setdefault(a["actionId"], {"actionId": a["actionId"],
                                                       "actionType": a["actionType"],
                                                       "actionStatus": "WAITING"})
            changed = True
    elif topic == "instantActions":
        for a in msg["actions"]:
            kind = a.get("actionType") or a.get("actionName")
            status = "FINISHED"
            if kind == "factsheetRequest":
                send("factsheet", FACTSHEET)
            elif kind == "cancelOrder":
                for pending in [p for n in nodes for p in n["actions"]] + todo:
                    actions[pending["actionId"]]["actionStatus"] = "FAILED"
                nodes, edges, todo = [], [], []
            elif kind != "stateRequest":
                status = "FAILED"
            actions[a["actionId"]] = {"actionId": a["actionId"], "actionType": kind,
                                      "actionStatus": status}
            changed = True
    elif topic == "inspectionAck":
        for result_id in msg["resultIds"]:
            unacked.pop(result_id, None)
        for refused in msg.get("rejected", []):
            unacked.pop(refused["resultId"], None)
    now = time.monotonic()
    if running is None and todo:
        action = todo.pop(0)
        params = {p["key"]: p["value"] for p in action.get("actionParameters", [])}
        if action["actionType"] == "inspect":
            running = (action, last_node, params, now + params["durationSeconds"])
            actions[action["actionId"]]["actionStatus"] = "RUNNING"
        else:
            actions[action["actionId"]]["actionStatus"] = "FAILED"
        changed = True
    if running is not None and now >= running[3]:
        action, node, params, _ = running
        result = {"resultId": str(uuid.uuid4()), "orderId": order["orderId"],
                  "actionId": action["actionId"], "nodeId": node["nodeId"],
                  "inspectionPointId": params["inspectionPointId"],
                  "agvPosition": dict(position),
                  "readings": [{"sensor": s, "value": 1.0, "unit": UNITS.get(s, "")}
                               for s in params["sensors"]]}
        unacked[result["resultId"]] = result
        send("inspection", result, qos=1)
        actions[action["actionId"]]["actionStatus"] = "FINISHED"
        running, changed = None, True
    if running is None and not todo and nodes and nodes[0]["released"] and now >= next_move:
        last_node = nodes.pop(0)
        edges = [e for e in edges if e["sequenceId"] > last_node["sequenceId"]]
        order["lastNodeId"] = last_node["nodeId"]
        order["lastNodeSequenceId"] = last_node["sequenceId"]
        position.update({k: v for k, v in last_node.get("nodePosition", {}).items()
                         if k in ("x", "y", "theta", "mapId")})
        todo = list(last_node["actions"])
        changed, next_move = True, now + 0.3
    if changed or now - last_state >= STATE_INTERVAL_S:
        send("state", {
            **order, "driving": False, "operatingMode": "AUTOMATIC", "errors": [],
            "nodeStates": [{k: n[k] for k in ("nodeId", "sequenceId", "released")}
                           for n in nodes],
            "edgeStates": [{k: e[k] for k in ("edgeId", "sequenceId", "released")}
                           for e in edges],
            "actionStates": list(actions.values()), "agvPosition": position,
            "batteryState": {"batteryCharge": 80, "charging": False},
            "safetyState": {"eStop": "NONE", "fieldViolation": False}})
        changed, last_state = False, now
    if unacked and now - last_resend >= 2.0:
        for result in unacked.values():
            send("inspection", result, qos=1)
        last_resend = now
client.publish(f"{BASE}/connection", message("connection", {"connectionState": "OFFLINE"}),
               qos=1, retain=True).wait_for_publish(5)
client.disconnect()
client.loop_stop()
