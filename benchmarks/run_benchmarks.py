"""Measure pytest-contexta's gate at scale, against the case study's script and against floors.

Run from the repository root::

    python benchmarks/run_benchmarks.py                          # every scenario; writes BENCHMARKS.md
    python benchmarks/run_benchmarks.py --scenarios steps --steps 1000000   # just the 1M-record case
    python benchmarks/run_benchmarks.py --python ../reader/.venv/bin/python --scenarios steps,huge
    python benchmarks/run_benchmarks.py --smoke                  # CI: every path at a small scale, no timing targets

The measured plugin is the ``pytest_contexta`` that ``--python`` imports (default: the Python running
this script); the script prints which one (file, version, git commit) before it measures anything.
Scenarios (``--scenarios``, comma-separated; default all):

* ``gate``: the issue-6 gate at ``--sizes`` runs (200, 2,000, 20,000): case study vs plugin vs bare
  pytest, a 50-candidate session, dormant start-up (``gate_scenario.py``);
* ``steps``: one candidate with N per-step records (``--steps``, default 100,000 and 1,000,000) vs the
  stdlib floor ``steps_floor.py``;
* ``deployments``: 50 candidates with 20,000 deployments vs 6 (``--deployments``);
* ``xdist``: 200 candidates (``--xdist-candidates``) with ``-n 4`` (``--workers``) vs serial, CPU of all processes;
* ``huge``: a 200,000-run workspace (``--huge-size``), one multi-GB segment: the gate vs a byte scan;
* ``noise``: the gate with replicates (5 seeds) and a 5-deployment history vs without (``noise_scenario.py``).

Every command is a fresh process; commands of a scenario alternate in the same rounds and ratios are
taken between their medians; CPU time (user + system, children included) and peak RSS come from
``wait4``. Workspaces are built once and cached in ``benchmarks/.cache/`` (see ``workspaces.py``).
Contexta runs on its own interpreter: ``--contexta-python PATH``, or ``benchmarks/.cache/venv-contexta``,
created on first use from a Python 3.13/3.12.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gate_scenario  # noqa: E402
import noise_scenario  # noqa: E402
import scale  # noqa: E402
import scenario  # noqa: E402
import workspaces  # noqa: E402
from processes import REPO, BenchmarkError, last_json_line, run_process  # noqa: E402

SCENARIOS = ("gate", "steps", "deployments", "xdist", "huge", "noise")
DEFAULT_SIZES = (200, 2_000, 20_000)
DEFAULT_STEPS = (100_000, 1_000_000)
PLUGIN_PROBE = """
import json, subprocess, sys
from pathlib import Path
from importlib.metadata import version
import pytest_contexta
source = Path(pytest_contexta.__file__).resolve().parent
git = subprocess.run(["git", "-C", str(source), "log", "-1", "--format=%h %<(50,trunc)%s"], capture_output=True,
                     text=True)
branch = subprocess.run(["git", "-C", str(source), "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True, text=True)
print(json.dumps({"python": sys.executable, "python_version": sys.version.split()[0], "source": str(source),
                  "version": version("pytest-contexta"), "duckdb": version("duckdb"), "pytest": version("pytest"),
                  "git": f"{branch.stdout.strip()} @ {git.stdout.strip()}" if git.returncode == 0
                  else "not a git checkout"}))
"""


def measured_plugin(python: str) -> dict[str, Any]:
    """Which pytest-contexta ``python`` imports: the one every pytest command below measures."""
    finished = run_process([python, "-c", PLUGIN_PROBE])
    if finished.returncode != 0:
        raise BenchmarkError(
            f"{python} cannot import pytest_contexta (pip install -e . into it, or pass --python "
            f"the Python that has it): {finished.stderr.strip()[-500:]}"
        )
    return last_json_line(finished, "the plugin probe")


def write_markdown(path: Path, key: str, results_text: str) -> None:
    """Replace the ``key`` results block of ``path`` (or append it)."""
    start, end = (
        ("<!-- results:start -->", "<!-- results:end -->")
        if key == "gate"
        else (f"<!-- results-{key}:start -->", f"<!-- results-{key}:end -->")
    )
    block = f"{start}\n{results_text}{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def _numbers(name: str, minimum: int):
    def parse(text: str) -> list[int]:
        try:
            values = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} takes comma-separated numbers, e.g. 200,2000; got {text!r}")
        if not values or min(values) < minimum:
            raise argparse.ArgumentTypeError(f"{name} needs numbers of at least {minimum}; got {text!r}")
        return values

    return parse


def _scenarios(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"--scenarios takes some of {','.join(SCENARIOS)}; got {text!r}")
    return [name for name in SCENARIOS if name in chosen]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--python",
        default=sys.executable,
        metavar="PATH",
        help="the Python whose pytest-contexta is measured (default: the one running this script)",
    )
    parser.add_argument(
        "--scenarios",
        type=_scenarios,
        default=list(SCENARIOS),
        help=f"which scenarios to run (default all: {','.join(SCENARIOS)})",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI mode: every chosen scenario at a small scale, verdicts and exit codes checked, "
        "one round, no BENCHMARKS.md",
    )
    parser.add_argument(
        "--sizes",
        type=_numbers("--sizes", 100),
        default=list(DEFAULT_SIZES),
        help="gate: run counts (default 200,2000,20000)",
    )
    parser.add_argument(
        "--steps",
        type=_numbers("--steps", 1),
        default=list(DEFAULT_STEPS),
        help="steps: per-step records of the candidate (default 100000,1000000)",
    )
    parser.add_argument("--deployments", type=int, default=20_000, help="deployments: how many (default 20000)")
    parser.add_argument("--xdist-candidates", type=int, default=200, help="xdist: candidates (default 200)")
    parser.add_argument("--workers", type=int, default=4, help="xdist: -n (default 4)")
    parser.add_argument("--huge-size", type=int, default=200_000, help="huge: run count (default 200000)")
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds of the light scenarios (default 5)")
    parser.add_argument(
        "--heavy-rounds",
        type=int,
        default=3,
        help="timing rounds of steps and huge, whose commands take long (default 3)",
    )
    parser.add_argument(
        "--case-study-max",
        type=int,
        default=20_000,
        help="gate: run the case study only up to this many runs (default 20000)",
    )
    parser.add_argument(
        "--case-study-budget",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="gate: stop timing the case study at a size once its runs would exceed this (default 600)",
    )
    parser.add_argument(
        "--real-max",
        type=int,
        default=2_000,
        help="gate: larger sizes are generated in bulk instead of written by Contexta (default 2000)",
    )
    parser.add_argument("--contexta-python", type=Path, help="a Python (>= 3.12) that can import contexta")
    parser.add_argument(
        "--output",
        type=Path,
        help="markdown file for the results blocks (default: this checkout's "
        "BENCHMARKS.md when the measured plugin is this checkout's; "
        "none with --smoke)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.steps, args.deployments = args.sizes[:1], [1_000], 200
        args.xdist_candidates, args.workers, args.rounds, args.heavy_rounds = 20, 2, 1, 1
        args.huge_size = args.sizes[0]
    return args


class Run:
    """One invocation: the measured plugin, Contexta's Python, and the results of the chosen scenarios."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.plugin = measured_plugin(args.python)
        print(
            f"measuring pytest-contexta {self.plugin['version']} from {self.plugin['source']} "
            f"({self.plugin['git']}) with {self.plugin['python']} (Python {self.plugin['python_version']}, "
            f"pytest {self.plugin['pytest']}, duckdb {self.plugin['duckdb']})",
            flush=True,
        )
        workspaces.CACHE.mkdir(exist_ok=True)
        self.contexta = workspaces.contexta_python(args.contexta_python, self.plugin["duckdb"])
        self.report_dir = Path(tempfile.mkdtemp(prefix="bench-", dir=workspaces.CACHE))
        self.pytest = scale.Pytest(args.python, self.report_dir)
        self.blocks: dict[str, str] = {}

    def context(self, load: tuple[float, float]) -> str:
        argv = " ".join(sys.argv[1:])
        return (
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} CPUs "
            f"({platform.system()} {platform.machine()}), shared with other engineers' test runs: 1-minute load "
            f"average {load[0]:.1f} before, {load[1]:.1f} after. Plugin: pytest-contexta {self.plugin['version']}"
            f" ({self.plugin['git']}), Python {self.plugin['python_version']}, pytest {self.plugin['pytest']}, "
            f"duckdb {self.plugin['duckdb']}. Command: `python benchmarks/run_benchmarks.py {argv}`.\n\n"
        )

    def measure(self, key: str, body) -> None:
        load_before = os.getloadavg()[0]
        text = body()
        self.blocks[key] = self.context((load_before, os.getloadavg()[0])) + text
        print(self.blocks[key], flush=True)

    def gate(self) -> str:
        args = self.args
        dormant = gate_scenario.check_dormant(args.python)
        all_commands = []
        for size in args.sizes:
            workspace = (
                workspaces.real_workspace(self.contexta, size)
                if size <= args.real_max
                else workspaces.generated_workspace(self.contexta, size)
            )
            if args.smoke:
                workspaces.generated_workspace(self.contexta, size, reference=workspace)
            commands = gate_scenario.Commands(
                args.python,
                self.contexta,
                workspace,
                size,
                self.report_dir,
                with_case_study=size <= args.case_study_max,
            )
            print(f"{size:,} runs: checking the gates ...", flush=True)
            for note in gate_scenario.check_gates(commands):
                print(f"  note: {note}", flush=True)
            all_commands.append(commands)
        load_before = os.getloadavg()[0]
        all_series = gate_scenario.time_all(all_commands, args.rounds, args.case_study_budget)
        load = (load_before, os.getloadavg()[0])
        results = [
            gate_scenario.SizeResult(c.size, c.workspace, s, gate_scenario.time_reader(c), load)
            for c, s in zip(all_commands, all_series)
        ]
        return gate_scenario.render(results, dormant)

    def steps(self) -> str:
        results = []
        for steps in self.args.steps:
            workspace = workspaces.steps_workspace(self.contexta, steps)
            print(f"{steps:,} per-step records: checking verdicts ...", flush=True)
            scale.check_steps(self.pytest, workspace, steps)
            results.append(scale.StepsResult(steps, workspace))
        for result in results:
            rounds = self.args.heavy_rounds if result.steps >= 100_000 else self.args.rounds
            scale.time_steps(self.pytest, result, rounds)
        return scale.render_steps(results)

    def _base(self) -> tuple[int, workspaces.Workspace]:
        size = 200 if self.args.smoke else 2_000
        return size, workspaces.real_workspace(self.contexta, size)

    def deployments(self) -> str:
        size, few = self._base()
        extra = self.args.deployments - len(scenario.DEPLOYMENTS)
        many = workspaces.deployments_workspace(self.contexta, few, size, extra)
        candidates = [scenario.run_ref(i) for i in scenario.candidate_indexes(size, gate_scenario.SESSION_CANDIDATES)]
        result = scale.DeploymentsResult(
            few, many, self.args.deployments, candidates, scenario.run_ref(scenario.baseline_index(size))
        )
        print("deployments: checking verdicts ...", flush=True)
        scale.check_deployments(self.pytest, result)
        scale.time_deployments(self.pytest, result, self.args.rounds)
        return scale.render_deployments(result)

    def xdist(self) -> str:
        size, workspace = self._base()
        candidates = [scenario.run_ref(i) for i in scenario.candidate_indexes(size, self.args.xdist_candidates)]
        result = scale.XdistResult(
            workspace, candidates, scenario.run_ref(scenario.baseline_index(size)), self.args.workers
        )
        print("xdist: checking verdicts ...", flush=True)
        scale.check_xdist(self.pytest, result)
        scale.time_xdist(self.pytest, result, self.args.rounds)
        return scale.render_xdist(result)

    def huge(self) -> str:
        size = self.args.huge_size
        if self.args.smoke:
            # The generator's path at a small size: the copy the smoke gate scenario verified byte for byte.
            real = workspaces.real_workspace(self.contexta, size)
            workspace = workspaces.generated_workspace(self.contexta, size, reference=real)
        elif size <= self.args.real_max:
            raise BenchmarkError(
                f"--huge-size {size} is not above --real-max {self.args.real_max}: "
                f"sizes up to --real-max are the Contexta-written workspaces of the gate scenario"
            )
        else:
            workspace = workspaces.generated_workspace(self.contexta, size)
        result = scale.HugeResult(
            workspace,
            size,
            scenario.run_ref(scenario.candidate_indexes(size)[0]),
            scenario.run_ref(scenario.baseline_index(size)),
        )
        print(f"huge: checking the gate on {size:,} runs ...", flush=True)
        scale.check_huge(self.pytest, result)
        scale.time_huge(self.pytest, result, self.args.heavy_rounds)
        return scale.render_huge(result)

    def noise(self) -> str:
        size, plain = self._base()
        replicated = noise_scenario.noise_workspace(self.contexta, size)
        result = noise_scenario.NoiseResult(
            plain,
            replicated,
            scenario.run_ref(scenario.candidate_indexes(size)[0]),
            scenario.run_ref(scenario.baseline_index(size)),
        )
        print("noise: checking verdicts ...", flush=True)
        noise_scenario.check_noise(self.pytest, result)
        noise_scenario.time_noise(self.pytest, result, self.args.rounds)
        return noise_scenario.render_noise(result)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        run = Run(args)
        try:
            for key in args.scenarios:
                print(f"=== scenario {key}", flush=True)
                run.measure(key, getattr(run, key))
        finally:
            shutil.rmtree(run.report_dir, ignore_errors=True)
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    output = args.output
    if output is None and not args.smoke:
        if Path(run.plugin["source"]) == REPO / "pytest_contexta":
            output = REPO / "BENCHMARKS.md"
        else:
            print(
                f"the measured plugin ({run.plugin['source']}) is not this checkout's, so {REPO / 'BENCHMARKS.md'} "
                f"is left alone; pass --output FILE to write the results blocks"
            )
    if output is not None:
        for key, text in run.blocks.items():
            write_markdown(output, key, text)
        print(f"wrote {output}")
    print(f"benchmark finished in {time.perf_counter() - started:,.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
