"""The floor for a run with many records: the gate's numbers computed with the standard library alone.

Reads every segment of the workspace line by line, decodes (``json.loads``) only the lines of the
candidate and the baseline (found by Contexta's canonical ``"run_ref":"<ref>"`` bytes), and computes
what the benchmark's gate suite decides: no error-severity degraded record in the candidate, the
required metrics present in its ``evaluate`` stage, and none of them worse than the baseline's by more
than 2 % (lower-is-better for names with a ``latency``/``ms``/``loss`` part, as the plugin decides).
No ledger, no index, no validation: the least any reader must do. Prints one JSON line; exits 0 when
the gate passes, 1 when it fails::

    python steps_floor.py WORKSPACE CANDIDATE_REF BASELINE_REF
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REQUIRED_METRICS = ("accuracy", "auc", "f1", "latency-p95-ms")
STAGE = "evaluate"
MAX_DROP = 0.02
LOWER_IS_BETTER_PARTS = {"latency", "ms", "loss"}


def read_runs(workspace: Path, runs: list[str]) -> dict[str, dict]:
    """Per run: the last value (by sequence) of each (stage, metric key), the error-degraded count, lines read."""
    needles = {f'"run_ref":"{run}"'.encode(): run for run in runs}
    found: dict[str, dict] = {run: {"metrics": {}, "errors": 0, "lines": 0} for run in runs}
    for path in sorted((workspace / "records" / "segments").glob("segment-*.jsonl")):
        with path.open("rb") as segment:
            for line in segment:
                for needle, run in needles.items():
                    if needle in line:
                        break
                else:
                    continue
                document = json.loads(line)
                record = document["record"]
                envelope, payload = record["envelope"], record["payload"]
                entry = found[run]
                entry["lines"] += 1
                if envelope["record_type"] == "metric":
                    stage = envelope.get("stage_execution_ref", "").rsplit(".", 1)[-1]
                    key = (stage, payload["metric_key"])
                    previous = entry["metrics"].get(key)
                    if previous is None or previous[0] < document["sequence"]:
                        entry["metrics"][key] = (document["sequence"], payload["value"])
                elif envelope["record_type"] == "degraded" and payload.get("severity") == "error":
                    entry["errors"] += 1
    return found


def gate(found: dict[str, dict], candidate: str, baseline: str) -> dict:
    ours, theirs = found[candidate], found[baseline]
    checks = {"diagnostics": ours["errors"] == 0}
    values = {}
    for metric in REQUIRED_METRICS:
        value = ours["metrics"].get((STAGE, metric))
        checks[f"present:{metric}"] = value is not None
        before = theirs["metrics"].get((STAGE, metric))
        if value is None or before is None:
            checks[f"regression:{metric}"] = False
            continue
        lower = bool(LOWER_IS_BETTER_PARTS & set(re.split(r"[.-]", metric)))
        change = (value[1] - before[1]) / max(abs(before[1]), 1e-9)
        worse = change if lower else -change
        checks[f"regression:{metric}"] = worse <= MAX_DROP
        values[metric] = {"candidate": value[1], "baseline": before[1]}
    return {
        "passed": all(checks.values()),
        "checks": checks,
        "values": values,
        "lines": {run: entry["lines"] for run, entry in found.items()},
    }


def main(argv: list[str]) -> int:
    workspace, candidate, baseline = argv
    result = gate(read_runs(Path(workspace), [candidate, baseline]), candidate, baseline)
    print(json.dumps(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
