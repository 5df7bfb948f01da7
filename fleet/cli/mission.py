"""``fleet mission``: launch and follow missions on a running manager."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from fleet.cli.remote import ConnectOption, CredentialsOption, InterfaceOption, ask
from fleet.errors import MissionError, Problem

app = typer.Typer(help="Missions on a running manager: launch, list, status, pause, "
                  "resume, abort.", no_args_is_help=True)


@app.command()
def launch(
    file: Path = typer.Argument(..., help="Mission file (.yaml) or sample mission name."),
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Launch a mission; prints its id. The manager plans it over the capable robots
    online (or those the mission names) and dispatches the orders."""
    stem, body = mission_body(file)
    answer = ask(connect, interface, "mission/launch", {**body, "name": stem}, timeout=10.0,
                 credentials=credentials)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
    else:
        typer.echo(answer["mission_id"])


def mission_body(file: Path) -> tuple[str, dict[str, Any]]:
    """A mission file (or sample name) and its map as the manager takes them: the file's
    stem and ``{"mission": text, "map": {name, suffix, text}}``. The file and its map are
    checked here first, so a bad one is reported with its lines before anything is sent."""
    from fleet.planning.mission import load_mission
    from fleet.samples import resolve

    file = resolve(file)
    spec = load_mission(file)
    if spec.map_path is None:
        raise MissionError(Problem("mission has no map file", str(file)))
    return file.stem, {"mission": file.read_text(encoding="utf-8"),
                       "map": {"name": str(spec.map_path), "suffix": spec.map_path.suffix,
                               "text": spec.map_path.read_text(encoding="utf-8")}}


@app.command("list")
def list_(
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Every mission the manager knows, newest last."""
    answer = ask(connect, interface, "mission/list", credentials=credentials)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    from fleet.cli.tables import print_table

    if not answer:
        typer.echo("no mission yet")
        return
    rows = []
    for m in answer:
        ins = m.get("inspections") or {}
        done = f"{ins.get('done', '?')}/{ins.get('total', '?')}" if ins else "-"
        rows.append((str(m["mission_id"]), str(m["status"]), done, str(m["name"])))
    print_table(("id", "status", "done", "name"), rows, right=("done",))


@app.command()
def status(
    mission_id: str = typer.Argument(..., metavar="ID", help="Mission id (or a prefix)."),
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """A mission's status, per-robot progress and inspections done."""
    answer = ask(connect, interface, "mission/status", {"mission_id": mission_id},
                 credentials=credentials)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    _print_status(answer)


def _print_status(m: dict[str, Any]) -> None:
    ins = m.get("inspections") or {}
    typer.echo(f"{m['name']} ({m['mission_id']}): {m['status']}"
               + (f" — {m['reason']}" if m.get("reason") else ""))
    if ins:
        typer.echo(f"inspections: {ins['done']}/{ins['total']} done, {ins['failed']} failed, "
                   f"{ins['dropped']} dropped, {ins.get('blocked', 0)} blocked, "
                   f"{ins['waiting']} waiting")
    patrol = m.get("patrol")
    if patrol:
        typer.echo(f"patrol: {patrol['visits']} visits; idleness worst "
                   f"{_span(patrol['worst_s'])}, average {_span(patrol['average_s'])}"
                   f" over {patrol['gaps']} revisits")
        for point, late in sorted(patrol["overdue"].items()):
            typer.echo(f"  overdue {point}: {_span(late['since_s'])} since its last "
                       f"inspection (target {_span(late['target_s'])})")
    from fleet.cli.tables import table_lines

    rows = [(str(r["serial"]), "active" if r["active"] else "done/lost",
             f"{r['reached']}/{r['nodes'] - 1}",
             f"{r['inspections']['done']}/{r['inspections']['total']}",
             r.get("waiting") or "")
            for r in m.get("robots", [])]
    if rows:
        for line in table_lines(("robot", "", "node", "inspections", "traffic"), rows,
                                right=("node", "inspections")):
            typer.echo(f"  {line}".rstrip())
    for refusal in m.get("refusals") or ():
        typer.echo(f"  {refusal['line']}")
    control = m.get("control")
    if control and control.get("outcome") == "pending":
        typer.echo(f"  {control['verb']} requested: waiting for "
                   f"{', '.join(control['waiting_for'])}")
    if control and control.get("outcome") == "refused":
        for line in control.get("lines") or ():
            typer.echo(f"  {line}")
    for point, why in (m.get("dropped") or {}).items():
        typer.echo(f"  dropped {point}: {why}")
    for point, why in (m.get("blocked") or {}).items():
        typer.echo(f"  blocked {point}: {why}")


def _control(verb: str) -> Any:
    def command(
        mission_id: str = typer.Argument(..., metavar="ID", help="Mission id (or a prefix)."),
        connect: str | None = ConnectOption,
        interface: str = InterfaceOption,
        credentials: Path | None = CredentialsOption,
    ) -> None:
        answer = ask(connect, interface, f"mission/{verb}", {"mission_id": mission_id},
                     credentials=credentials)
        if verb == "abort":
            typer.echo(f"{answer['mission_id']}: {answer['status']}")
            return
        answer = _follow(connect, interface, credentials, answer)
        control = answer.get("control") or {}
        for line in control.get("lines") or ():
            typer.echo(line)
        outcome = control.get("outcome")
        if outcome == "pending":
            typer.echo(f"{answer['mission_id']}: {answer['status']} — still waiting for "
                       f"{', '.join(control.get('waiting_for') or ())} to answer the {verb} "
                       "(see `fleet mission status`)")
        elif outcome == "refused":
            typer.echo(f"{answer['mission_id']}: {answer['status']} — not {verb}d")
        else:
            typer.echo(f"{answer['mission_id']}: {answer['status']}")
        if outcome in ("pending", "refused"):
            raise typer.Exit(1)

    command.__doc__ = {"pause": "Pause a mission's robots (startPause); it is paused once "
                                "every robot confirms. Exit 1 when one refuses or does not "
                                "answer (each robot's outcome is printed).",
                       "resume": "Resume a paused mission (stopPause), once every robot "
                                 "confirms; exit 1 when one refuses or does not answer.",
                       "abort": "Abort a mission: cancel its robots' orders."}[verb]
    return command


FOLLOW_S = 15.0
"""Real seconds ``pause``/``resume`` wait for the robots' answers: longer than the manager
gives them (fleet.manager.instants.ANSWER_S, 10 s), so its verdict is normally what is
printed."""

POLL_S = 0.3
"""Real seconds between two looks at the mission while answers are awaited."""


def _follow(connect: str | None, interface: str, credentials: Path | None,
            answer: dict[str, Any]) -> dict[str, Any]:
    """The mission's status once its pause or resume is answered by every robot (or after
    :data:`FOLLOW_S`, still pending)."""
    import time

    deadline = time.monotonic() + FOLLOW_S
    while (answer.get("control") or {}).get("outcome") == "pending" \
            and time.monotonic() < deadline:
        time.sleep(POLL_S)  # the manager tells no one: its status is looked at again
        answer = ask(connect, interface, "mission/status",
                     {"mission_id": answer["mission_id"]}, credentials=credentials)
    return answer


for _verb in ("pause", "resume", "abort"):
    app.command(_verb)(_control(_verb))


def _span(seconds: float | None) -> str:
    """``1h 05m``, ``12m 30s``, ``45s`` (``-`` for none)."""
    if seconds is None:
        return "-"
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"
