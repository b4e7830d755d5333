"""The ``noise`` scenario (issue 12): the gate with replicates and a 5-deployment history vs the same gate without.

Two workspaces with the same runs and deployments, both written by the real Contexta library:

* the plain ``ws-N`` of the gate scenario (one record per metric);
* ``noise-N``: every evaluation metric logged once per seed (5 seeds, tag ``seed``), the seeds' mean
  equal to the plain value, so every check still passes; built by this module run as a script on
  Contexta's Python (``python noise_scenario.py build --size N --out DIR``).

The issue-6 gate suite runs on both, in the same rounds: the plain workspace with
``--contexta-history=0`` (point comparisons: the gate *without* replicates and history) and the
replicated one with ``--contexta-history=5`` (Welch intervals, the history read: the gate *with*
them); the two mixed commands show which part costs what. One untimed ``-X importtime`` run of the
gate with them says what the statistics' imports cost inside it.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scenario  # noqa: E402

SEEDS = 5
HISTORY = 5
#: Each seed's offset from the plain value, relative to it: the seeds' mean is the plain value.
SEED_SPREAD = (-0.002, -0.001, 0.0, 0.001, 0.002)
#: The four commands, in the order every round runs them: (replicated workspace, --contexta-history).
COMMANDS = {
    "without (plain, history 0)": (False, 0),
    "plain, history 5": (False, HISTORY),
    "replicates, history 0": (True, 0),
    "with (replicates, history 5)": (True, HISTORY),
}
WITHOUT, WITH = "without (plain, history 0)", "with (replicates, history 5)"
TARGET = 1.2
#: What the gate imports anyway (pytest, pydantic, duckdb, tabulate), then with scipy.special on top: the difference,
#: timed in the same rounds as the gates, is what importing the t distribution adds to a gate.
BASE_IMPORTS = "import pytest, pydantic, duckdb, tabulate"
IMPORTS = {
    "imports of the gate": BASE_IMPORTS,
    "the same + scipy.special": BASE_IMPORTS + "; from scipy import special",
}
#: Top-level packages whose import time the importtime run attributes to the statistics.
STATISTICS_PACKAGES = ("scipy", "numpy")


def replicated_run(index: int) -> scenario.RunSpec:
    """Run ``index`` of the plain workspace with each evaluation metric as ``SEEDS`` records, one per seed."""
    plain = scenario.run_spec(index)
    stages = []
    for stage in plain.stages:
        if stage.name == scenario.EVALUATION_STAGE:
            metrics = tuple(
                replace(metric, value=round(metric.value * (1 + offset), 6), tags=(("seed", str(seed)),))
                for metric in stage.metrics
                for seed, offset in enumerate(SEED_SPREAD)
            )
            stage = replace(stage, metrics=metrics)
        stages.append(stage)
    return replace(plain, stages=tuple(stages))


# -- the workspace (built once, cached like the others) --------------------------------------------------------


def noise_workspace(python: Path, size: int) -> Any:
    """``benchmarks/.cache/noise-<size>``: the ``size``-run workspace with per-seed evaluation metrics."""
    import workspaces
    from processes import REPO

    folder = workspaces.CACHE / f"noise-{size}"
    expected = {
        "scenario": scenario.SCENARIO_VERSION,
        "method": "contexta",
        "size": size,
        "seeds": SEEDS,
        "spread": list(SEED_SPREAD),
    }
    stamp = workspaces._stamp_ok(folder, expected)
    if stamp is None:
        print(
            f"writing {size:,} runs with {SEEDS} seeds per evaluation metric with Contexta (cached in "
            f"{folder.relative_to(REPO)}) ...",
            flush=True,
        )
        root = workspaces._fresh(folder)
        from processes import checked, last_json_line, run_process

        finished = checked(
            run_process(
                [str(python), str(Path(__file__).resolve()), "build", "--size", str(size), "--out", str(root)],
                timeout=3600,
            ),
            f"writing {size} replicated runs",
        )
        stamp = {**expected, "build_seconds": last_json_line(finished, "the noise builder")["seconds"]}
        workspaces._write_stamp(folder, stamp)
    return workspaces.Workspace(
        f"{size:,} runs, {SEEDS} seeds", folder / ".contexta", "Contexta", stamp["build_seconds"]
    )


def build(root: Path, size: int) -> None:
    """Write the replicated workspace with the real Contexta (run on Contexta's Python)."""
    import build_workspace

    build_workspace._write_real(root, [replicated_run(index) for index in range(size)], scenario.deployment_specs(size))


# -- checking and timing -------------------------------------------------------------------------------------


@dataclass
class NoiseResult:
    plain: Any
    replicated: Any
    candidate: str
    baseline: str
    series: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, set[str]] = field(default_factory=dict)
    passes: dict[str, list[list[str]]] = field(default_factory=dict)
    imports: dict[str, float] = field(default_factory=dict)
    import_lines: list[str] = field(default_factory=list)


def _command(pytest: Any, result: NoiseResult, name: str, *extra: str, report: str | None = None) -> list[str]:
    replicated, history = COMMANDS[name]
    return pytest.gate(
        result.replicated if replicated else result.plain,
        [result.candidate],
        f"--contexta-history={history}",
        *extra,
        report=report,
    )


def check_noise(pytest: Any, result: NoiseResult) -> None:
    """Every command passes the candidate against the same baseline; the gate with replicates decides by
    Welch intervals, the one without by point comparisons; the history runs are read once each, in the same
    pass as the candidate and the baseline; and what the imports cost (``-X importtime``)."""
    from processes import BenchmarkError, checked, clean_env, run_process
    from scale import check_report

    for number, name in enumerate(COMMANDS):
        passes = pytest.report_dir / f"noise-passes-{number}.json"
        env = clean_env(PYTHONPATH=str(HERE / "suites"), BENCH_PASSES_FILE=str(passes))
        checked(
            run_process(_command(pytest, result, name, "-p", "count_passes", report=f"noise-{number}.json"), env=env),
            f"the gate {name}",
        )
        report = pytest.report(f"noise-{number}.json")
        check_report(report, {result.candidate: ("pass", 0)}, result.baseline)
        result.sources[name] = {
            check.get("noise_source") or "none"
            for check in report["candidates"][0]["checks"]
            if check["kind"] == "regression"
        }
        result.passes[name] = json.loads(passes.read_text(encoding="utf-8"))
    if result.sources[WITH] != {"replicates (Welch)"} or result.sources[WITHOUT] != {"no noise estimate"}:
        raise BenchmarkError(
            f"the gate with replicates decided by {result.sources[WITH]}, without by "
            f"{result.sources[WITHOUT]}: expected Welch intervals and point comparisons"
        )
    # -s: pytest's capture would swallow what the imports made during the checks write to stderr
    finished = checked(
        run_process([pytest.python, "-X", "importtime", *_command(pytest, result, WITH, "-s")[1:]]),
        "the gate with replicates under -X importtime",
    )
    result.imports, result.import_lines = _import_costs(finished.stderr)


def _import_costs(stderr: str) -> tuple[dict[str, float], list[str]]:
    """Milliseconds of import per top-level package (the lines not nested in another import), and the lines of
    the statistics' packages."""
    costs: dict[str, float] = {}
    lines = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if name.startswith("   "):  # nested: counted in its parent
            continue
        package = name.strip().split(".")[0]
        costs[package] = costs.get(package, 0.0) + int(cumulative) / 1000
        if package in STATISTICS_PACKAGES:
            lines.append(line)
    return costs, lines


def time_noise(pytest: Any, result: NoiseResult, rounds: int) -> None:
    from processes import run_process
    from scale import alternate

    commands = {name: (lambda name=name: (run_process(_command(pytest, result, name)), 0)) for name in COMMANDS}
    commands.update(
        {name: (lambda code=code: (run_process([pytest.python, "-c", code]), 0)) for name, code in IMPORTS.items()}
    )
    result.series = alternate(rounds, commands, "noise")


def render_noise(result: NoiseResult) -> str:
    from processes import ms, verdict

    series = result.series
    without, with_them = series[WITHOUT], series[WITH]
    ratio, cpu_ratio = with_them.median / without.median, with_them.cpu / without.cpu
    statistics_ms = sum(result.imports.get(package, 0.0) for package in STATISTICS_PACKAGES)
    lines = [
        f"The issue-6 gate (one candidate, 9 checks, 4 of them `assert_no_regression` with the default "
        f"`confidence=0.95`) on two workspaces Contexta wrote with the same {result.plain.name} and deployments: "
        f"`{result.plain.name}` (one record per metric) and `{result.replicated.name}` (every evaluation metric "
        f"logged once per seed, {SEEDS} seeds, tag `seed`). Without replicates and with `--contexta-history=0` the "
        f"checks are point comparisons; with replicates they are Welch intervals; `--contexta-history=5` reads the "
        f"runs behind the last 5 completed deployments (prod-5 … prod-1).",
        "",
        "| gate | noise source of its regression checks | wall | CPU | peak RSS | rounds |",
        "|---|---|---|---|---|---|",
    ]
    for name, found in ((name, series[name]) for name in COMMANDS):
        lines.append(
            f"| {name} | {', '.join(sorted(result.sources.get(name, ())))} | {ms(found.median)} "
            f"| {ms(found.cpu)} | {found.max_rss:.0f} MB | {len(found.samples)} |"
        )
    lines += [
        "",
        f"Target (issue 12): the gate with replicates and a 5-deployment history ≤ {TARGET}× the same gate without "
        f"them (same rounds): {ratio:.2f}× wall, {cpu_ratio:.2f}× CPU — {verdict(ratio <= TARGET)} (wall), "
        f"{verdict(cpu_ratio <= TARGET)} (CPU)",
        "",
        *_import_floor(result),
        "",
        f"Runs read from the records (untimed check runs, `suites/count_passes.py`): "
        f"{_describe_passes(result.passes)}.",
        "",
        f"Imports in the gate with them (`-X importtime`, one untimed run, top-level packages): scipy and numpy "
        f"{statistics_ms:,.0f} ms of {sum(result.imports.values()):,.0f} ms of imports in all; the lines:",
        "",
        "```",
        *result.import_lines,
        "```",
        "",
    ]
    return "\n".join(lines)


def _import_floor(result: NoiseResult) -> list[str]:
    """What importing scipy.special alone adds, and the ratio the gate with them could reach if nothing but that import
    were added to the gate without them."""
    from processes import ms

    base, more = (result.series[name] for name in IMPORTS)
    without = result.series[WITHOUT]
    added_wall, added_cpu = more.median - base.median, more.cpu - base.cpu
    return [
        f'Importing scipy.special on top of what the gate imports anyway (`python -c "{BASE_IMPORTS}"` vs the same '
        f"plus `from scipy import special`, same rounds): {ms(base.median)} / {ms(base.cpu)} CPU → {ms(more.median)} / "
        f"{ms(more.cpu)} CPU, +{ms(added_wall)} wall, +{ms(added_cpu)} CPU. That import alone puts the gate without "
        f"them at {(without.median + added_wall) / without.median:.2f}× wall, "
        f"{(without.cpu + added_cpu) / without.cpu:.2f}× CPU: the smallest ratio any gate that computes a t interval "
        f"with scipy can reach here.",
    ]


def _describe_passes(passes: dict[str, list[list[str]]]) -> str:
    parts = []
    for name, found in passes.items():
        runs = [ref for one in found for ref in one]
        each = "each once" if len(runs) == len(set(runs)) else "some more than once"
        sizes = " + ".join(str(len(one)) for one in found)
        parts.append(
            f"{name}: {len(set(runs))} runs ({each}) in {len(found)} pass{'es' if len(found) != 1 else ''}"
            f" over the segments ({sizes})"
        )
    return "; ".join(parts)


def main(argv: list[str]) -> int:
    """``build --size N --out DIR`` (on Contexta's Python): write the replicated workspace."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    build(args.out, args.size)
    print(json.dumps({"seconds": round(time.perf_counter() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
