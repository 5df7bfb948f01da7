"""Side-by-side Markdown table of two `fleet bench vrplib --json`-shaped result files.

    python benchmarks/compare.py /tmp/ours_cvrp.json /tmp/ortools_cvrp.json

Rows follow the first file; the last row holds the mean gaps and how many instances the
first solver did strictly better on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    ours: list[dict[str, Any]] = json.loads(Path(argv[0]).read_text())
    theirs = {r["instance"]: r for r in json.loads(Path(argv[1]).read_text())}
    print("| instance | best known | ours | gap % | OR-Tools | gap % | better |")
    print("|---|---:|---:|---:|---:|---:|:---:|")
    gaps_a, gaps_b, wins = [], [], 0
    for a in ours:
        b = theirs.get(a["instance"], {})
        better = b.get("value") is None or a["value"] < b["value"]
        wins += better
        gaps_a.append(a["gap_pct"])
        if b.get("gap_pct") is not None:
            gaps_b.append(b["gap_pct"])
        print(f"| {a['instance']} | {a['best_known']} | {a['value']} | {a['gap_pct']:.2f} | "
              f"{b.get('value', '-')} | "
              f"{'-' if b.get('gap_pct') is None else format(b['gap_pct'], '.2f')} | "
              f"{'yes' if better else 'no'} |")
    mean_a = sum(gaps_a) / len(gaps_a)
    mean_b = sum(gaps_b) / len(gaps_b) if gaps_b else float("nan")
    print(f"| **mean** | | | **{mean_a:.2f}** | | **{mean_b:.2f}** | {wins}/{len(ours)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
