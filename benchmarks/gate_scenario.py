"""The issue-6 gate at 200 / 2,000 / 20,000 runs: the case study's script, the plugin, and bare pytest.

* ``case study``: ``case_study_gate.py`` on the Python that has ``contexta`` (snapshot + diagnose +
  compare for one candidate through the real facade);
* ``plugin``: ``pytest suites/gate/gate_checks.py`` with the measured plugin, same candidate and baseline;
* ``floor``: ``pytest suites/floor/floor_checks.py``, as many trivial tests, ``-p no:contexta``;
* the same two for a session gating 50 candidates;
* ``dormant``: the floor suite with the plugin installed but no candidate (start-up overhead).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import scenario
from processes import BenchmarkError, Series, checked, clean_env, last_json_line, ms, run_process, verdict
from workspaces import Workspace

HERE = Path(__file__).resolve().parent
SUITES = HERE / "suites"
# Named *_checks.py, not test_*.py, so that no pytest run over the repository collects them by accident.
GATE_SUITE = SUITES / "gate" / "gate_checks.py"
FLOOR_SUITE = SUITES / "floor" / "floor_checks.py"
SESSION_CANDIDATES = 50
HEAVY_MODULES = ("pydantic", "duckdb", "tabulate")


@dataclass
class Commands:
    pytest_python: str
    contexta_python: Path
    workspace: Workspace
    size: int
    report_dir: Path
    with_case_study: bool = True

    @property
    def candidate(self) -> str:
        return scenario.run_ref(scenario.candidate_indexes(self.size)[0])

    @property
    def session_candidates(self) -> list[str]:
        return [scenario.run_ref(index) for index in scenario.candidate_indexes(self.size, SESSION_CANDIDATES)]

    @property
    def baseline(self) -> str:
        return scenario.run_ref(scenario.baseline_index(self.size))

    def case_study(self) -> list[str]:
        return [
            str(self.contexta_python),
            str(HERE / "case_study_gate.py"),
            str(self.workspace.root),
            self.candidate,
            self.baseline,
        ]

    def plugin(self, candidates: list[str], *extra: str) -> list[str]:
        return [
            self.pytest_python,
            "-m",
            "pytest",
            str(GATE_SUITE),
            "-q",
            "-p",
            "no:cacheprovider",
            f"--contexta-workspace={self.workspace.root}",
            *(f"--contexta-candidate={c}" for c in candidates),
            *extra,
        ]

    def floor(self, *, plugin: bool = False) -> list[str]:
        disable = [] if plugin else ["-p", "no:contexta"]
        return [self.pytest_python, "-m", "pytest", str(FLOOR_SUITE), "-q", "-p", "no:cacheprovider", *disable]


def floor_env(candidates: int) -> dict[str, str]:
    return clean_env(BENCH_FLOOR_CANDIDATES=str(candidates))


# -- checks (untimed; they double as warm-up) ----------------------------------------------------------------


def check_gates(commands: Commands) -> list[str]:
    """Both gates pass the candidate; the plugin picks the case study's baseline and reads each run once.

    Returns notes about checks that could not be made on this plugin version.
    """
    if commands.with_case_study:
        case = last_json_line(checked(run_process(commands.case_study()), "the case-study gate"), "the case study")
        if not case["passed"]:
            raise BenchmarkError(f"the case-study gate failed the benchmark candidate: {case['checks']}")
    report = commands.report_dir / "gate-report.json"
    reads = commands.report_dir / "reads.json"
    env = clean_env(PYTHONPATH=str(SUITES), BENCH_READS_FILE=str(reads))
    notes: list[str] = []
    for candidates in ([commands.candidate], commands.session_candidates):
        checked(
            run_process(commands.plugin(candidates, f"--contexta-report={report}", "-p", "count_reads"), env=env),
            f"the plugin's gate over {len(candidates)} candidate(s)",
        )
        _check_report(report, candidates, commands.baseline)
        notes += _check_reads(reads, [*candidates, commands.baseline])
    for candidates in (1, SESSION_CANDIDATES):
        finished = checked(run_process(commands.floor(), env=floor_env(candidates)), "the floor suite")
        if f"{9 * candidates} passed" not in finished.stdout:
            raise BenchmarkError(f"the floor suite did not run {9 * candidates} tests: {finished.stdout[-500:]}")
    return sorted(set(notes))


def _check_report(path: Path, candidates: list[str], baseline: str) -> None:
    report = json.loads(path.read_text(encoding="utf-8"))
    found = {candidate["run_ref"]: candidate for candidate in report["candidates"]}
    for ref in candidates:
        entry = found.get(ref)
        if entry is None or entry["verdict"] != "pass" or len(entry["checks"]) != 9:
            raise BenchmarkError(f"the plugin's verdict for {ref} is not a pass of 9 checks: {entry}")
        if entry["baseline"]["run_ref"] != baseline:
            raise BenchmarkError(
                f"the plugin chose baseline {entry['baseline']['run_ref']} for {ref}, the case study uses {baseline}"
            )


HISTORY_RUNS = 5  # the plugin's default --contexta-history: the runs behind the last 5 deployments


def _check_reads(path: Path, runs: list[str]) -> list[str]:
    reads = json.loads(path.read_text(encoding="utf-8"))
    if "unavailable" in reads:
        return [f"reads per run not counted: {reads['unavailable']}"]
    wrong = {run: reads.get(run, 0) for run in runs if reads.get(run, 0) != 1}
    history = {run: count for run, count in reads.items() if run not in runs}  # --contexta-history (default 5)
    if wrong or len(history) > HISTORY_RUNS or any(count != 1 for count in history.values()):
        raise BenchmarkError(
            f"each run should be read exactly once per session (the candidates, the baseline and "
            f"at most {HISTORY_RUNS} history runs); reads {wrong}, others {history}"
        )
    return [f"{len(history)} history run(s) read once each"] if history else []


def check_dormant(pytest_python: str) -> dict[str, Any]:
    """With no candidate the plugin is loaded but imports none of its heavy dependencies."""
    probe = (
        "import json, sys, pytest\n"
        f"code = pytest.main([{str(FLOOR_SUITE)!r}, '-q', '-p', 'no:cacheprovider'])\n"
        f"print(json.dumps({{'exit': int(code), 'plugin': 'pytest_contexta.plugin' in sys.modules, "
        f"'heavy': sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)}}))\n"
    )
    found = last_json_line(
        checked(run_process([pytest_python, "-c", probe]), "pytest with the dormant plugin"), "the dormant probe"
    )
    if found["exit"] != 0 or not found["plugin"]:
        raise BenchmarkError(f"the dormant-plugin probe did not run the floor suite with the plugin loaded: {found}")
    if found["heavy"]:
        raise BenchmarkError(f"the dormant plugin imported {found['heavy']}: keep those imports lazy")
    timing = checked(
        run_process(
            [pytest_python, "-X", "importtime", "-m", "pytest", str(FLOOR_SUITE), "-q", "-p", "no:cacheprovider"]
        ),
        "pytest -X importtime",
    )
    own = 0
    for line in timing.stderr.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[2].strip().startswith("pytest_contexta"):
            own += int(parts[0].split(":")[1])
    return {"heavy_imported": found["heavy"], "plugin_import_ms": own / 1000}


# -- timing --------------------------------------------------------------------------------------------------


SERIES = ("case_study", "plugin", "floor", "dormant", "session", "session_floor")


def time_all(all_commands: list[Commands], rounds: int, case_study_budget: float) -> list[dict[str, Series]]:
    """Every command at every size once per round, so that sizes are compared under the same conditions.

    The case study at a size is skipped in later rounds once its runs there would exceed the budget.
    """
    series = [{name: Series() for name in SERIES} for _ in all_commands]
    spent = [0.0 for _ in all_commands]
    for number in range(1, rounds + 1):
        for position, commands in enumerate(all_commands):
            found = series[position]
            done = len(found["case_study"].samples)
            if commands.with_case_study and (done == 0 or spent[position] / done * (done + 1) <= case_study_budget):
                found["case_study"].add(run_process(commands.case_study()), "the case-study gate")
                spent[position] += found["case_study"].samples[-1].seconds
            found["plugin"].add(run_process(commands.plugin([commands.candidate])), "the plugin's gate")
            found["floor"].add(run_process(commands.floor(), env=floor_env(1)), "the floor suite")
            found["dormant"].add(run_process(commands.floor(plugin=True), env=floor_env(1)), "the dormant plugin")
            found["session"].add(run_process(commands.plugin(commands.session_candidates)), "the 50-candidate gate")
            found["session_floor"].add(
                run_process(commands.floor(), env=floor_env(SESSION_CANDIDATES)), "the 450-test floor"
            )
            print(
                f"  round {number}/{rounds}, {commands.size:,} runs: "
                + ", ".join(f"{name} {s.samples[-1].seconds:.2f}s" for name, s in found.items() if s.samples),
                flush=True,
            )
    return series


READER_PROBE = """
import contextlib, json, statistics, sys, time
from pytest_contexta.reading.refs import parse_run_ref
from pytest_contexta.reading.segments import RecordReader
from pytest_contexta.runs.workspace import Workspace
root, candidate, baseline, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
started = time.perf_counter()
workspace = Workspace(root)
workspace.resolve_run(candidate)
opened = time.perf_counter() - started
loads, reads = [], []
reader = RecordReader(workspace.root / "records")
# As the gate session does: one ledger connection held across the reads (Workspace.reading(), where it exists).
holding = getattr(workspace, "reading", contextlib.nullcontext)
for _ in range(repeats):
    with holding():
        started = time.perf_counter()
        workspace.load_run(workspace.resolve_run(candidate))
        workspace.load_run(workspace.resolve_run(baseline))
        loads.append(time.perf_counter() - started)
    started = time.perf_counter()
    found = reader.read_run(parse_run_ref(candidate))
    reads.append(time.perf_counter() - started)
assert len(found.records) == 20 and not found.notes, found.notes
print(json.dumps({"open": opened, "load_two": statistics.median(loads), "read_one": statistics.median(reads)}))
"""


def time_reader(commands: Commands, repeats: int = 20) -> dict[str, float] | str:
    """In one process: open the workspace, then load candidate + baseline and read the candidate's records.

    Uses the plugin's internal reader API of the version measured here; on another version it returns
    why it could not run instead of failing the benchmark.
    """
    finished = run_process(
        [
            commands.pytest_python,
            "-c",
            READER_PROBE,
            str(commands.workspace.root),
            commands.candidate,
            commands.baseline,
            str(repeats),
        ]
    )
    if finished.returncode != 0:
        last = (finished.stderr.strip().splitlines() or ["no output"])[-1]
        return f"the in-process reader probe did not run on this plugin version ({last})"
    return last_json_line(finished, "the reader probe")


# -- report --------------------------------------------------------------------------------------------------


@dataclass
class SizeResult:
    size: int
    workspace: Workspace
    series: dict[str, Series]
    reader: dict[str, float] | str
    load: tuple[float, float]


def _ratio(a: Series, b: Series) -> str:
    return f"{a.median / b.median:,.0f}×" if a.samples and b.samples else "not run"


def render(results: list[SizeResult], dormant: dict[str, Any]) -> str:
    lines = [
        "Medians of fresh processes, run alternately in the same rounds, every size in every round (wall time "
        "of the whole process, interpreter start-up included); peak memory is the largest max RSS of any one "
        f"of them. The machine's load average (1 minute) was {results[0].load[0]:.1f} before the timing rounds and "
        f"{results[0].load[1]:.1f} after.",
        "",
        "| runs (records) | case study (a) | plugin (b) | floor (c) | a / b | b / c | b / c, CPU time | "
        "plugin peak RSS | case-study peak RSS | rounds (a / b, c) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        s = result.series
        case = s["case_study"]
        lines.append(
            f"| {result.size:,} ({20 * result.size:,}) | {ms(case.median) if case.samples else 'not run'} "
            f"| {ms(s['plugin'].median)} | {ms(s['floor'].median)} | {_ratio(case, s['plugin'])} "
            f"| {s['plugin'].median / s['floor'].median:.2f}× | {s['plugin'].cpu / s['floor'].cpu:.2f}× "
            f"| {s['plugin'].max_rss:.0f} MB | {f'{case.max_rss:.0f} MB' if case.samples else '–'} "
            f"| {len(case.samples)} / {len(s['plugin'].samples)} |"
        )
    lines += [
        "",
        f"One session gating {SESSION_CANDIDATES} candidates ({9 * SESSION_CANDIDATES} checks, each run read once) "
        f"against a floor of as many trivial tests:",
        "",
        "| runs | plugin, 50 candidates | floor, 450 tests | ratio | plugin peak RSS |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        s = result.series
        lines.append(
            f"| {result.size:,} | {ms(s['session'].median)} | {ms(s['session_floor'].median)} "
            f"| {s['session'].median / s['session_floor'].median:.2f}× | {s['session'].max_rss:.0f} MB |"
        )
    lines += [
        "",
        "The plugin's reader inside one process (median of 20): opening the workspace and the ledger, loading "
        "candidate + baseline (ledger rows, records, diagnostics; inside one `Workspace.reading()` block where "
        "the version has it, as the gate session does), and reading the candidate's records alone "
        "(internal API of the measured version):",
        "",
        "| runs | segment size | open + first lookup | load candidate + baseline | one run's records |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        size_mb = result.workspace.segment_bytes / 2**20
        r = result.reader
        if isinstance(r, str):
            lines.append(f"| {result.size:,} | {size_mb:,.0f} MB | {r} | | |")
        else:
            lines.append(
                f"| {result.size:,} | {size_mb:,.0f} MB | {r['open'] * 1000:.1f} ms "
                f"| {r['load_two'] * 1000:.1f} ms | {r['read_one'] * 1000:.2f} ms |"
            )
    floor = statistics.median(sample.seconds for r in results for sample in r.series["floor"].samples)
    dormant_median = statistics.median(sample.seconds for r in results for sample in r.series["dormant"].samples)
    floor_spread = [r.series["floor"].median for r in results]
    lines += [
        "",
        f"Start-up of an ordinary test run (the floor suite, no candidate): {ms(dormant_median)} with the plugin "
        f"installed and dormant, {ms(floor)} with `-p no:contexta` "
        f"({(dormant_median - floor) * 1000:+.0f} ms; the floor's own medians across sizes span "
        f"{min(floor_spread) * 1000:.0f}–{max(floor_spread) * 1000:.0f} ms); the plugin's own modules take "
        f"{dormant['plugin_import_ms']:.1f} ms to import (`-X importtime`), and "
        f"{', '.join(HEAVY_MODULES)} are not imported.",
        "",
        "Targets:",
        "",
    ]
    by_size = {result.size: result.series for result in results}
    if 2_000 in by_size:
        s = by_size[2_000]
        if s["case_study"].samples:
            speedup = s["case_study"].median / s["plugin"].median
            lines.append(
                f"- 2,000 runs, plugin faster than the case study, ≥ 40× (issue 9) / ≥ 60× (issue 15): "
                f"{speedup:,.0f}× — {verdict(speedup >= 40)} / {verdict(speedup >= 60)}"
            )
        ratio = s["plugin"].median / s["floor"].median
        lines.append(
            f"- 2,000 runs, plugin ≤ 2× (issue 9) / ≤ 1.5× (issue 15) the floor of 9 trivial tests: "
            f"{ratio:.2f}× (CPU {s['plugin'].cpu / s['floor'].cpu:.2f}×) — {verdict(ratio <= 2)} / "
            f"{verdict(ratio <= 1.5)}"
        )
        lines.append(
            f"- 2,000 runs, peak RSS ≤ 120 MB (issue 15): {s['plugin'].max_rss:.0f} MB — "
            f"{verdict(s['plugin'].max_rss <= 120)}"
        )
    if 2_000 in by_size and 20_000 in by_size:
        growth = by_size[20_000]["plugin"].median / by_size[2_000]["plugin"].median
        cpu_growth = by_size[20_000]["plugin"].cpu / by_size[2_000]["plugin"].cpu
        lines.append(
            f"- 2,000 → 20,000 runs, plugin time grows ≤ 1.5× (issue 9): {growth:.2f}× "
            f"(CPU {cpu_growth:.2f}×) — {verdict(growth <= 1.5)}"
        )
    if 20_000 in by_size:
        peak = max(by_size[20_000]["plugin"].max_rss, by_size[20_000]["session"].max_rss)
        lines.append(f"- 20,000 runs, peak memory ≤ 150 MB (issue 9): {peak:.0f} MB — {verdict(peak <= 150)}")
    lines.append(
        f"- dormant plugin within noise of `-p no:contexta`: {(dormant_median - floor) * 1000:+.0f} ms "
        f"(floor medians span {(max(floor_spread) - min(floor_spread)) * 1000:.0f} ms), no heavy imports "
        f"— {verdict(not dormant['heavy_imported'])}"
    )
    lines += ["", "Workspaces:", ""]
    for result in results:
        w = result.workspace
        if w.method == "Contexta":
            how = "written by the real Contexta library (low-level stores, `append_many` per run, flush durability)"
        else:
            read_back = w.verification["contexta_checked_runs"]
            how = (
                f"generated in Contexta's format and checked against runs Contexta wrote: "
                f"{w.verification['byte_checked_runs']} runs byte for byte"
                + (f", Contexta's own snapshot/diagnose of {', '.join(read_back)} identical" if read_back else "")
            )
        lines.append(f"- {result.size:,} runs: {how}; built in {w.build_seconds:,.0f} s.")
    return "\n".join(lines) + "\n"
