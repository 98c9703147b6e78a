"""`make bench`: run every benchmarks/bench_*.py, print one markdown table, write benchmarks/results.json.

Each module has `run() -> list[dict]`; a row is
`{"name", "value", "unit", "target", "baseline"?: {"name", "value"}, "note"?}`. A baseline is measured in the
same run, so the ratio column compares like with like on this machine; a row whose unit is "x" is itself that
ratio (for example keyset vs OFFSET), and the ratio column repeats it. results.json is a flat
`{name: number}` object holding every row and every baseline; a run of some modules only (`make bench
BENCH=admin`) updates their rows and keeps the others.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import pkgutil
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(only: list[str]) -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_"))
    if only:
        names = [n for n in names if any(o in n for o in only)]
    return names


def format_number(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def render_table(rows: list[dict]) -> str:
    lines = [
        "| row | value | unit | target | baseline | ratio | note |",
        "|---|---:|---|---|---|---:|---|",
    ]
    for row in rows:
        baseline = row.get("baseline")
        base_text, ratio_text = "", ""
        if baseline:
            base_text = f"{baseline['name']} = {format_number(baseline['value'])}"
            if row.get("unit") == "x":
                ratio_text = format_number(row["value"])
            elif baseline["value"]:
                ratio_text = format_number(row["value"] / baseline["value"])
        lines.append(
            f"| {row['name']} | {format_number(row['value'])} | {row.get('unit', '')} | "
            f"{row.get('target', '')} | {base_text} | {ratio_text} | {row.get('note', '')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="substrings of benchmark module names to run")
    args = parser.parse_args(argv)
    rows: list[dict] = []
    failures = 0
    for name in discover(args.only):
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            rows.extend(module.run())
        except Exception:
            failures += 1
            traceback.print_exc()
            rows.append({"name": f"{name}_failed", "value": float("nan"), "unit": "", "target": "runs"})
        print(f"  {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    print(render_table(rows))
    results = {}
    for row in rows:
        results[row["name"]] = row["value"]
        if row.get("baseline"):
            results[row["baseline"]["name"]] = row["baseline"]["value"]
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in results.items()}
    path = HERE / "results.json"
    if args.only and path.exists():
        clean = {**json.loads(path.read_text()), **clean}
    path.write_text(json.dumps(clean, indent=2, sort_keys=True) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
