"""Markdown table of `fleet bench patrol --json` results, one file per run.

    for m in grid cumberland example DIAG_labs; do for k in 1 2 4; do
      fleet bench patrol $m --robots $k --json > /tmp/patrol_${m}_$k.json; done; done
    python benchmarks/patrol_table.py /tmp/patrol_*.json

Rows follow the files' order; the last line says whether every run with a reference kept
its worst idleness within 1.10 x L_ref / (k v) (exit 1 when not).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

LIMIT = 1.10


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    runs: list[dict[str, Any]] = [json.loads(Path(a).read_text()) for a in argv]
    print("| map | points | k | L_ref m | L m | L_ref/(k v) s | worst s | average s "
          "| worst / (L_ref/(k v)) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst_ratio = 0.0
    for r in runs:
        ratio = r["ratio"]
        worst_ratio = max(worst_ratio, ratio or 0.0)
        ref_s = r["reference_s"]
        print(f"| {r['map']} | {r['points']} | {r['robots']} | {r['reference_m'] or '-'} "
              f"| {r['length_m']:.2f} | {'-' if ref_s is None else f'{ref_s:.2f}'} "
              f"| {r['worst_idleness_s']:.2f} | {r['average_idleness_s']:.2f} | "
              f"{'-' if ratio is None else f'{ratio:.4f}'} |")
    ok = worst_ratio <= LIMIT
    print(f"\nlargest ratio {worst_ratio:.4f}: {'within' if ok else 'ABOVE'} {LIMIT:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
