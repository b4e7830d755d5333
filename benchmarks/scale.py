"""Scenarios at the scale teams log (issue 15) and of a multi-GB segment (issue 9).

* ``steps``: one candidate whose run holds N per-step ``train-loss`` records, against the stdlib floor
  (``steps_floor.py``: reads and decodes only that run's lines and computes the gate's numbers);
* ``deployments``: a 50-candidate session on a project with thousands of deployments, against the
  same session with the scenario's 6;
* ``xdist``: many candidates with ``-n WORKERS`` against the same session serially; CPU time of the
  whole process tree;
* ``huge``: the one-candidate gate on a 200,000-run workspace (a single multi-GB segment), next to a
  stdlib byte search over every segment (what reading every byte costs).

Each scenario first checks verdicts and exit codes (``check_*``), then times its commands alternately
in the same rounds (``time_*``), and renders a markdown block (``render_*``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import scenario
from processes import BenchmarkError, Finished, Series, checked, clean_env, last_json_line, ms, run_process, verdict
from workspaces import Workspace

HERE = Path(__file__).resolve().parent
GATE_SUITE = HERE / "suites" / "gate" / "gate_checks.py"
FLOOR_SUITE = HERE / "suites" / "floor" / "floor_checks.py"
STEPS_FLOOR = HERE / "steps_floor.py"
BYTE_SCAN = """
import mmap, sys, time
from pathlib import Path
needle = ('"run_ref":"' + sys.argv[2] + '"').encode()
found = 0
for path in sorted(Path(sys.argv[1], "records", "segments").glob("segment-*.jsonl")):
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        position = data.find(needle)
        while position != -1:
            found += 1
            position = data.find(needle, position + 1)
print(found)
"""


@dataclass
class Pytest:
    """How the measured plugin is run: its Python, and where reports go."""

    python: str
    report_dir: Path

    def gate(self, workspace: Workspace, candidates: list[str], *extra: str, report: str | None = None) -> list[str]:
        command = [
            self.python,
            "-m",
            "pytest",
            str(GATE_SUITE),
            "-q",
            "-p",
            "no:cacheprovider",
            f"--contexta-workspace={workspace.root}",
            *(f"--contexta-candidate={c}" for c in candidates),
            *extra,
        ]
        if report is not None:
            command.append(f"--contexta-report={self.report_dir / report}")
        return command

    def floor(self, *extra: str) -> list[str]:
        """As many trivial tests as the gate suite has checks (``BENCH_FLOOR_CANDIDATES``), plugin disabled."""
        return [
            self.python,
            "-m",
            "pytest",
            str(FLOOR_SUITE),
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:contexta",
            *extra,
        ]

    def report(self, name: str) -> dict[str, Any]:
        return json.loads((self.report_dir / name).read_text(encoding="utf-8"))


def check_report(report: dict[str, Any], expected: dict[str, tuple[str, int]], baseline: str) -> None:
    """``expected``: candidate → (verdict, failed checks); every candidate with 9 checks and ``baseline``."""
    found = {entry["run_ref"]: entry for entry in report["candidates"]}
    if set(found) != set(expected):
        raise BenchmarkError(f"the report gates {sorted(found)[:5]}…, expected {sorted(expected)[:5]}…")
    for ref, (wanted, failures) in expected.items():
        entry = found[ref]
        failed = sum(check["outcome"] != "passed" for check in entry["checks"])
        if entry["verdict"] != wanted or len(entry["checks"]) != 9 or failed != failures:
            raise BenchmarkError(
                f"the plugin's verdict for {ref} is {entry['verdict']} with {failed} of "
                f"{len(entry['checks'])} checks failed; expected {wanted} with {failures} of 9"
            )
        if (entry["baseline"] or {}).get("run_ref") != baseline:
            raise BenchmarkError(f"the plugin chose baseline {entry['baseline']} for {ref}, expected {baseline}")


def alternate(rounds: int, commands: dict[str, Callable[[], tuple[Finished, int]]], label: str) -> dict[str, Series]:
    """Each command once per round, in turn; each returns (finished, expected exit code)."""
    series = {name: Series() for name in commands}
    for number in range(1, rounds + 1):
        for name, command in commands.items():
            finished, expected = command()
            series[name].add(finished, f"{label}: {name}", expected)
        print(
            f"  {label}, round {number}/{rounds}: "
            + ", ".join(
                f"{name} {s.samples[-1].seconds:.2f}s {s.samples[-1].max_rss_mb:.0f}MB" for name, s in series.items()
            ),
            flush=True,
        )
    return series


# -- steps ---------------------------------------------------------------------------------------------------


@dataclass
class StepsResult:
    steps: int
    workspace: Workspace
    series: dict[str, Series] = field(default_factory=dict)


def _floor(pytest: Pytest, workspace: Workspace, candidate: str, baseline: str) -> list[str]:
    return [pytest.python, str(STEPS_FLOOR), str(workspace.root), candidate, baseline]


def check_steps(pytest: Pytest, workspace: Workspace, steps: int) -> None:
    """The regressed candidate fails the same 3 regression checks, on the same numbers, in the plugin and the
    floor; the floor reads every line of the candidate and passes it. (The candidate's plugin verdict is
    checked in every round.)"""
    baseline = scenario.run_ref(scenario.STEPS_BASELINE)
    regressed = scenario.run_ref(scenario.STEPS_REGRESSED)
    candidate = scenario.run_ref(scenario.STEPS_CANDIDATE)
    checked(
        run_process(pytest.gate(workspace, [regressed], report="regressed.json")),
        "the plugin on the regressed candidate",
        expected=1,
    )
    check_report(pytest.report("regressed.json"), {regressed: ("fail", 3)}, baseline)
    failed = last_json_line(
        checked(
            run_process(_floor(pytest, workspace, regressed, baseline)),
            "the floor on the regressed candidate",
            expected=1,
        ),
        "the floor",
    )
    if sorted(name for name, ok in failed["checks"].items() if not ok) != [
        "regression:accuracy",
        "regression:auc",
        "regression:f1",
    ]:
        raise BenchmarkError(f"the floor's checks for the regressed candidate: {failed['checks']}")
    _same_numbers(pytest.report("regressed.json"), failed["values"])
    passed = last_json_line(
        checked(run_process(_floor(pytest, workspace, candidate, baseline)), "the floor on the candidate"), "the floor"
    )
    if passed["lines"][candidate] != steps + 20:
        raise BenchmarkError(f"the floor read {passed['lines'][candidate]} lines of {candidate}, expected {steps + 20}")


def _same_numbers(report: dict[str, Any], floor_values: dict[str, dict[str, float]]) -> None:
    """The plugin's regression checks compared the same candidate and baseline values as the floor."""
    plugin_values = {
        check["metric"]: {"candidate": check["candidate_value"], "baseline": check["baseline_value"]}
        for check in report["candidates"][0]["checks"]
        if check["kind"] == "regression"
    }
    if plugin_values != floor_values:
        raise BenchmarkError(f"the plugin compared {plugin_values}, the floor {floor_values}")


def time_steps(pytest: Pytest, result: StepsResult, rounds: int) -> None:
    baseline = scenario.run_ref(scenario.STEPS_BASELINE)
    candidate = scenario.run_ref(scenario.STEPS_CANDIDATE)

    def plugin() -> tuple[Finished, int]:
        finished = run_process(pytest.gate(result.workspace, [candidate], report="steps.json"))
        if finished.returncode == 0:
            check_report(pytest.report("steps.json"), {candidate: ("pass", 0)}, baseline)
        return finished, 0

    result.series = alternate(
        rounds,
        {
            "plugin": plugin,
            "floor": lambda: (run_process(_floor(pytest, result.workspace, candidate, baseline)), 0),
        },
        f"{result.steps:,} per-step records",
    )


def render_steps(results: list[StepsResult]) -> str:
    lines = [
        "One candidate whose train stage holds N step-scoped `train-loss` records (then its 10 stage metrics "
        "and an evaluate stage with 10), gated by the issue-6 suite (9 checks, report written) against the "
        "deployed baseline; the floor is `benchmarks/steps_floor.py` on the same Python: the standard library "
        "reading every segment line by line and decoding only the candidate's and the baseline's lines.",
        "",
        "| per-step records | segment | plugin (a) | floor (b) | a / b | a / b, CPU | plugin peak RSS (private) "
        "| floor peak RSS (private) | rounds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p, f = r.series["plugin"], r.series["floor"]
        lines.append(
            f"| {r.steps:,} | {r.workspace.segment_bytes / 2**20:,.0f} MB | {ms(p.median)} | {ms(f.median)} "
            f"| {p.median / f.median:.1f}× | {p.cpu / f.cpu:.1f}× "
            f"| {p.max_rss:,.0f} MB ({p.max_anon:,.0f} MB) | {f.max_rss:,.0f} MB ({f.max_anon:,.0f} MB) "
            f"| {len(p.samples)} |"
        )
    lines += [
        "",
        "Peak RSS is `ru_maxrss` from `wait4`; in brackets the largest private (anonymous) memory seen "
        "in `/proc/PID/status` (`RssAnon`, sampled every 20 ms): RSS also counts the pages of a file the "
        "process memory-maps and reads, private memory does not.",
        "",
        "Targets (issue 15, set for 100,000 and 1,000,000 records; memory judged on peak RSS):",
        "",
    ]
    for r in (r for r in results if r.steps >= 100_000):
        p, f = r.series["plugin"], r.series["floor"]
        limit = 400 if r.steps >= 1_000_000 else 200
        lines.append(
            f"- {r.steps:,} records: ≤ 2× the floor: {p.median / f.median:.1f}× — "
            f"{verdict(p.median <= 2 * f.median)}; peak RSS ≤ {limit} MB: {p.max_rss:,.0f} MB — "
            f"{verdict(p.max_rss <= limit)}"
        )
    return "\n".join(lines) + "\n"


# -- deployments ---------------------------------------------------------------------------------------------


@dataclass
class DeploymentsResult:
    few: Workspace
    many: Workspace
    deployments: int
    candidates: list[str]
    baseline: str
    series: dict[str, Series] = field(default_factory=dict)


def check_deployments(pytest: Pytest, result: DeploymentsResult) -> None:
    """Both sessions pass every candidate against the same baseline (older deployments do not change it)."""
    for name, workspace in (("few", result.few), ("many", result.many)):
        checked(
            run_process(pytest.gate(workspace, result.candidates, report=f"deployments-{name}.json")),
            f"the {len(result.candidates)}-candidate gate on {workspace.name}",
        )
        check_report(
            pytest.report(f"deployments-{name}.json"), {ref: ("pass", 0) for ref in result.candidates}, result.baseline
        )


def time_deployments(pytest: Pytest, result: DeploymentsResult, rounds: int) -> None:
    result.series = alternate(
        rounds,
        {
            "6 deployments": lambda: (run_process(pytest.gate(result.few, result.candidates)), 0),
            f"{result.deployments:,} deployments": lambda: (
                run_process(pytest.gate(result.many, result.candidates)),
                0,
            ),
        },
        f"{len(result.candidates)} candidates, deployments",
    )


def render_deployments(result: DeploymentsResult) -> str:
    few, many = result.series.values()
    ratio = many.median / few.median
    return "\n".join(
        [
            f"One session gating {len(result.candidates)} candidates (9 checks each, baseline chosen by the default "
            f"rule) on the same {result.few.name} workspace, once with the scenario's 6 deployments and once after "
            f"Contexta added {result.deployments - 6:,} older completed deployments (`history-NNNNN`, so the "
            f"baseline stays the same run).",
            "",
            "| deployments | plugin, wall | CPU | peak RSS | rounds |",
            "|---|---|---|---|---|",
            f"| 6 | {ms(few.median)} | {ms(few.cpu)} | {few.max_rss:.0f} MB | {len(few.samples)} |",
            f"| {result.deployments:,} | {ms(many.median)} | {ms(many.cpu)} | {many.max_rss:.0f} MB "
            f"| {len(many.samples)} |",
            "",
            f"Target (issue 15): {result.deployments:,} deployments ≤ 1.3× the 6-deployment session: {ratio:.2f}× "
            f"(CPU {many.cpu / few.cpu:.2f}×) — {verdict(ratio <= 1.3)}",
            "",
        ]
    )


# -- xdist ---------------------------------------------------------------------------------------------------


@dataclass
class XdistResult:
    workspace: Workspace
    candidates: list[str]
    baseline: str
    workers: int
    series: dict[str, Series] = field(default_factory=dict)
    reads: dict[str, dict[str, Any]] = field(default_factory=dict)


def check_xdist(pytest: Pytest, result: XdistResult) -> None:
    """Serially and with workers, every candidate passes against the same baseline; counts how often each
    process read each run's records (reported, not judged: see ``render_xdist``)."""
    for name, extra in (("serial", ()), ("xdist", ("-n", str(result.workers)))):
        reads = pytest.report_dir / f"reads-{name}.json"
        env = clean_env(PYTHONPATH=str(HERE / "suites"), BENCH_READS_FILE=str(reads))
        finished = checked(
            run_process(
                pytest.gate(
                    result.workspace, result.candidates, *extra, "-p", "count_reads", report=f"xdist-{name}.json"
                ),
                env=env,
            ),
            f"the {len(result.candidates)}-candidate gate, {name}",
        )
        result.reads[name] = _reads_per_process(reads)
        if f"{9 * len(result.candidates)} passed" not in finished.stdout:
            raise BenchmarkError(
                f"the {name} session did not pass {9 * len(result.candidates)} checks: {finished.stdout[-800:]}"
            )
        check_report(
            pytest.report(f"xdist-{name}.json"), {ref: ("pass", 0) for ref in result.candidates}, result.baseline
        )
        floor = checked(run_process(pytest.floor(*extra), env=_floor_env(result)), f"the floor suite, {name}")
        if f"{9 * len(result.candidates)} passed" not in floor.stdout:
            raise BenchmarkError(
                f"the {name} floor did not pass {9 * len(result.candidates)} tests: {floor.stdout[-800:]}"
            )


def _floor_env(result: XdistResult) -> dict[str, str]:
    return clean_env(BENCH_FLOOR_CANDIDATES=str(len(result.candidates)))


def _reads_per_process(path: Path) -> dict[str, Any]:
    """{process: reads of run records in total, and of the most-read run} from count_reads' files."""
    found: dict[str, Any] = {}
    for file in sorted(path.parent.glob(path.name + "*")):
        counts = json.loads(file.read_text(encoding="utf-8"))
        process = file.name.removeprefix(path.name).lstrip(".") or "controller"
        if "unavailable" in counts:
            return {"unavailable": counts["unavailable"]}
        found[process] = (sum(counts.values()), max(counts.values(), default=0))
    return found


def time_xdist(pytest: Pytest, result: XdistResult, rounds: int) -> None:
    workers = ("-n", str(result.workers))
    result.series = alternate(
        rounds,
        {
            "serial": lambda: (run_process(pytest.gate(result.workspace, result.candidates)), 0),
            f"-n {result.workers}": lambda: (
                run_process(pytest.gate(result.workspace, result.candidates, *workers)),
                0,
            ),
            "floor serial": lambda: (run_process(pytest.floor(), env=_floor_env(result)), 0),
            f"floor -n {result.workers}": lambda: (run_process(pytest.floor(*workers), env=_floor_env(result)), 0),
        },
        f"{len(result.candidates)} candidates, xdist",
    )


def render_xdist(result: XdistResult) -> str:
    serial, workers, floor_serial, floor_workers = result.series.values()
    ratio = workers.cpu / serial.cpu
    xdist_costs = floor_workers.cpu - floor_serial.cpu
    best = (serial.cpu + xdist_costs) / serial.cpu
    return "\n".join(
        [
            f"One session gating {len(result.candidates)} candidates on the {result.workspace.name} workspace, "
            f"serially and with `-n {result.workers}` (pytest-xdist). CPU time is user + system of the pytest "
            f"process and every process it waited for (its workers), from `wait4`.",
            "",
            "| session | wall | CPU, workers included | peak RSS of one process | rounds |",
            "|---|---|---|---|---|",
            f"| serial | {ms(serial.median)} | {ms(serial.cpu)} | {serial.max_rss:.0f} MB | {len(serial.samples)} |",
            f"| `-n {result.workers}` | {ms(workers.median)} | {ms(workers.cpu)} | {workers.max_rss:.0f} MB "
            f"| {len(workers.samples)} |",
            f"| floor: {9 * len(result.candidates):,} trivial tests, serial | {ms(floor_serial.median)} "
            f"| {ms(floor_serial.cpu)} | {floor_serial.max_rss:.0f} MB | {len(floor_serial.samples)} |",
            f"| floor, `-n {result.workers}` | {ms(floor_workers.median)} | {ms(floor_workers.cpu)} "
            f"| {floor_workers.max_rss:.0f} MB | {len(floor_workers.samples)} |",
            "",
            f"Target (issue 15): total CPU with `-n {result.workers}` ≤ 1.5× serial: {ratio:.2f}× "
            f"— {verdict(ratio <= 1.5)}",
            "",
            f"What bounds it: `-n {result.workers}` alone (pytest-xdist's workers, each starting pytest and collecting "
            f"every test, and the reports sent back) costs {ms(xdist_costs)} of CPU more than the same trivial "
            "tests run "
            f"serially (the floor rows); added to the serial gate session that is {best:.2f}× its CPU, even if the "
            f"plugin's own work in the workers (start-up, reading, checks) cost nothing more than serially. The plugin "
            f"adds {ms(workers.cpu - serial.cpu - xdist_costs)} of CPU beyond that under `-n {result.workers}`.",
            "",
            f"Runs read from the records, per process (counted by `suites/count_reads.py` in the untimed check "
            f"runs; {len(result.candidates) + 1} runs are gated: {len(result.candidates)} candidates and one "
            f"baseline; the history, `--contexta-history` 5 by default, adds the runs of the other completed "
            f"deployments): {_describe_reads(result.reads)}.",
            "",
        ]
    )


def _describe_reads(reads: dict[str, dict[str, Any]]) -> str:
    parts = []
    for name, processes in reads.items():
        if "unavailable" in processes:
            return f"not counted ({processes['unavailable']})"
        described = ", ".join(
            f"{process} {total} (at most {most} of one run)" for process, (total, most) in processes.items()
        )
        parts.append(f"{name}: {described}")
    return "; ".join(parts)


# -- huge ----------------------------------------------------------------------------------------------------


@dataclass
class HugeResult:
    workspace: Workspace
    size: int
    candidate: str
    baseline: str
    series: dict[str, Series] = field(default_factory=dict)


def check_huge(pytest: Pytest, result: HugeResult) -> None:
    """The gate passes the candidate against the newest completed deployment; the byte scan finds its 20 lines."""
    checked(
        run_process(pytest.gate(result.workspace, [result.candidate], report="huge.json")),
        f"the gate on {result.workspace.name}",
    )
    check_report(pytest.report("huge.json"), {result.candidate: ("pass", 0)}, result.baseline)
    found = checked(
        run_process([pytest.python, "-c", BYTE_SCAN, str(result.workspace.root), result.candidate]), "the byte scan"
    )
    if found.stdout.strip() != "20":
        raise BenchmarkError(f"the byte scan found {found.stdout.strip()} lines of {result.candidate}, expected 20")


def time_huge(pytest: Pytest, result: HugeResult, rounds: int) -> None:
    result.series = alternate(
        rounds,
        {
            "plugin": lambda: (run_process(pytest.gate(result.workspace, [result.candidate])), 0),
            "byte scan": lambda: (
                run_process([pytest.python, "-c", BYTE_SCAN, str(result.workspace.root), result.candidate]),
                0,
            ),
        },
        result.workspace.name,
    )


def render_huge(result: HugeResult) -> str:
    plugin, scan = result.series.values()
    w = result.workspace
    return "\n".join(
        [
            f"The issue-6 gate (one candidate, 9 checks) on a generated {result.size:,}-run workspace: "
            f"{20 * result.size:,} records in one segment of {w.segment_bytes / 2**20:,.0f} MB (page cache warm: the "
            f"machine has the memory to hold it). The byte scan is the standard library's `mmap.find` of the "
            f'candidate\'s `"run_ref":"…"` bytes over every segment: what reading every byte costs.',
            "",
            "| command | wall | CPU | peak RSS | peak private memory | rounds |",
            "|---|---|---|---|---|---|",
            f"| plugin | {ms(plugin.median)} | {ms(plugin.cpu)} | {plugin.max_rss:,.0f} MB | {plugin.max_anon:,.0f} MB "
            f"| {len(plugin.samples)} |",
            f"| byte scan | {ms(scan.median)} | {ms(scan.cpu)} | {scan.max_rss:,.0f} MB | {scan.max_anon:,.0f} MB "
            f"| {len(scan.samples)} |",
            "",
            "Peak RSS (`ru_maxrss`) counts the pages of the memory-mapped segment that the byte scan touched; "
            "private memory (`RssAnon` from `/proc`, sampled every 20 ms) does not.",
            "",
            f"Issue 9: a gate here must finish in seconds: {ms(plugin.median)}.",
            "",
        ]
    )
