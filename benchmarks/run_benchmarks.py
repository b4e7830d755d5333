"""Time the case study's gate (real Contexta) against the same gate run by pytest-contexta, at scale.

Run from the repository root with the Python that has pytest-contexta installed::

    python benchmarks/run_benchmarks.py                      # 200, 2,000 and 20,000 runs; writes BENCHMARKS.md
    python benchmarks/run_benchmarks.py --sizes 200,2000     # some sizes only
    python benchmarks/run_benchmarks.py --smoke              # CI: 200 runs, 2 rounds, no BENCHMARKS.md

For every size it builds (or reuses, from ``benchmarks/.cache/``) a workspace, checks that both
gates work and agree, then times in alternating rounds, each command a fresh process:

* ``case study``: ``case_study_gate.py`` on the Python that has ``contexta`` (snapshot + diagnose +
  compare for one candidate through the real facade);
* ``plugin``: ``pytest benchmarks/suites/gate/gate_checks.py`` with this plugin, same candidate and baseline;
* ``floor``: ``pytest benchmarks/suites/floor/floor_checks.py``, as many trivial tests, ``-p no:contexta``;
* the same two for a session gating 50 candidates;
* ``dormant``: the floor suite with the plugin installed but no candidate (start-up overhead).

Contexta needs Python >= 3.12 (its package says 3.14; its read path works on 3.12/3.13). Give its
interpreter with ``--contexta-python PATH``; without it the script uses, or creates,
``benchmarks/.cache/venv-contexta`` from the first Python 3.13/3.12 it finds (``python3.13``,
``python3.12``, pyenv's versions) and ``pip install --ignore-requires-python contexta duckdb==<ours>``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache"
SUITES = HERE / "suites"
# Named *_checks.py, not test_*.py, so that no pytest run over the repository collects them by accident.
GATE_SUITE = SUITES / "gate" / "gate_checks.py"
FLOOR_SUITE = SUITES / "floor" / "floor_checks.py"
sys.path.insert(0, str(HERE))
import scenario  # noqa: E402

DEFAULT_SIZES = (200, 2_000, 20_000)
SESSION_CANDIDATES = 50
HEAVY_MODULES = ("pydantic", "duckdb", "tabulate")
RESULTS_START = "<!-- results:start -->"
RESULTS_END = "<!-- results:end -->"


class BenchmarkError(Exception):
    """Something the benchmark needs is missing or broken; the message says what and how to fix it."""


# -- processes ----------------------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    max_rss_mb: float
    cpu_seconds: float = 0.0


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    sample: Sample


def run_process(command: list[str], *, cwd: Path = REPO, env: dict[str, str] | None = None,
                timeout: float | None = None) -> Finished:
    """Run ``command`` to completion; wall time and the max RSS of that process alone (``wait4``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env or clean_env(), stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL)
        if timeout is None:
            _, status, usage = os.wait4(process.pid, 0)
        else:
            deadline = started + timeout
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    process.kill()
                    os.wait4(process.pid, 0)
                    raise BenchmarkError(f"{' '.join(command)} did not finish within {timeout:.0f} s")
                time.sleep(0.05)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Finished(process.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                        Sample(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime))


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would steer pytest or the plugin from outside."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CONTEXTA_", "PYTEST_", "BENCH_"))
           and key not in ("GITHUB_STEP_SUMMARY", "PYTHONDONTWRITEBYTECODE")}
    env.update(extra)
    return env


def checked(finished: Finished, what: str) -> Finished:
    if finished.returncode != 0:
        tail = "\n".join((finished.stdout + finished.stderr).strip().splitlines()[-25:])
        raise BenchmarkError(f"{what} exited with {finished.returncode}:\n{tail}")
    return finished


# -- the Python that has contexta ---------------------------------------------------------------------------------


def _has_contexta(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", "import contexta, duckdb"], capture_output=True, check=False)
    return probe.returncode == 0


def _base_python() -> str:
    candidates = [shutil.which(name) for name in ("python3.13", "python3.12")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
        for prefix in ("3.13", "3.12"):
            candidates += sorted(str(path) for path in Path(root, "versions").glob(f"{prefix}*/bin/python{prefix}"))
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "import venv"], capture_output=True).returncode == 0:
            return candidate
    raise BenchmarkError("no Python 3.12 or 3.13 found for contexta (its read path needs >= 3.12): install one "
                         "(e.g. pyenv install 3.13) or pass --contexta-python PATH")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def contexta_python(given: Path | None) -> Path:
    """``given``, or ``.cache/venv-contexta`` (created on first use)."""
    import duckdb  # the plugin's own: the workspaces it reads must not be written by a newer one

    if given is not None:
        if not _has_contexta(given):
            raise BenchmarkError(f"--contexta-python {given} cannot import contexta and duckdb: "
                                 f"pip install --ignore-requires-python contexta into it")
        theirs = subprocess.run([str(given), "-c", "import duckdb; print(duckdb.__version__)"],
                                capture_output=True, text=True, check=False).stdout.strip()
        if _version(theirs) > _version(duckdb.__version__):
            raise BenchmarkError(f"--contexta-python {given} has duckdb {theirs}, newer than the plugin's "
                                 f"{duckdb.__version__}, which could not read the ledgers it writes: "
                                 f"pip install duckdb=={duckdb.__version__} into it, or upgrade duckdb here")
        return given
    venv = CACHE / "venv-contexta"
    python = venv / "bin" / "python"
    if _has_contexta(python):
        return python
    base = _base_python()
    print(f"creating {venv.relative_to(REPO)} from {base} ...", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    checked(run_process([base, "-m", "venv", str(venv)]), "python -m venv")
    checked(run_process([str(python), "-m", "pip", "install", "-q", "--ignore-requires-python", "contexta",
                         f"duckdb=={duckdb.__version__}"], timeout=900), "pip install contexta")
    if not _has_contexta(python):
        raise BenchmarkError(f"{python} still cannot import contexta after pip install")
    return python


# -- workspaces -----------------------------------------------------------------------------------------------------


@dataclass
class Workspace:
    size: int
    root: Path
    method: str
    build_seconds: float
    verification: dict[str, Any] | None = None


def _stamp_ok(folder: Path, expected: dict[str, Any]) -> dict[str, Any] | None:
    stamp = folder / "build.json"
    if not stamp.is_file():
        return None
    data = json.loads(stamp.read_text(encoding="utf-8"))
    return data if all(data.get(key) == value for key, value in expected.items()) else None


def _build(python: Path, folder: Path, arguments: list[str], what: str) -> float:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    finished = checked(run_process([str(python), str(HERE / "build_workspace.py"), *arguments]), what)
    return json.loads(finished.stdout.strip().splitlines()[-1])["seconds"]


def real_workspace(python: Path, size: int) -> Workspace:
    """All runs written by the real Contexta library."""
    folder = CACHE / f"ws-{size}"
    expected = {"scenario": scenario.SCENARIO_VERSION, "method": "contexta", "size": size}
    stamp = _stamp_ok(folder, expected)
    if stamp is None:
        print(f"building {size} runs with Contexta (cached in {folder.relative_to(REPO)}) ...", flush=True)
        seconds = _build(python, folder, ["real", "--size", str(size), "--out", str(folder / ".contexta")],
                         f"writing {size} runs with Contexta")
        stamp = {**expected, "build_seconds": seconds}
        (folder / "build.json").write_text(json.dumps(stamp, indent=2), encoding="utf-8")
    return Workspace(size, folder / ".contexta", "Contexta", stamp["build_seconds"])


def generated_workspace(python: Path, size: int, reference: Workspace | None = None) -> Workspace:
    """Runs written in bulk, then checked against runs the real library wrote.

    The reference is ``reference`` (a real workspace of the same size) or a small real workspace of
    the sample runs: run 0, every deployed run and the candidates.
    """
    folder = CACHE / (f"ws-{size}" if reference is None else f"gen-check-{size}")
    expected = {"scenario": scenario.SCENARIO_VERSION, "method": "generated", "size": size}
    stamp = _stamp_ok(folder, expected)
    if stamp is not None and stamp.get("verification", {}).get("ok"):
        return Workspace(size, folder / ".contexta", "generated", stamp["build_seconds"], stamp["verification"])
    print(f"generating {size} runs in Contexta's format (cached in {folder.relative_to(REPO)}) ...", flush=True)
    seconds = _build(python, folder, ["generate", "--size", str(size), "--out", str(folder / ".contexta")],
                     f"generating {size} runs")
    if reference is None:
        reference_root = folder / "reference" / ".contexta"
        sample = sorted({0, *(spec.run_index for spec in scenario.deployment_specs(size)),
                         *scenario.candidate_indexes(size, SESSION_CANDIDATES)[:1],
                         *scenario.candidate_indexes(size, SESSION_CANDIDATES)[-1:]})
        print(f"writing the sample runs {sample} with Contexta as the reference ...", flush=True)
        checked(run_process([str(python), str(HERE / "build_workspace.py"), "real", "--size", str(size),
                             "--out", str(reference_root), "--only", ",".join(map(str, sample))]),
                "writing the reference runs")
    else:
        reference_root = reference.root
    checked_runs = [scenario.candidate_indexes(size)[0], scenario.baseline_index(size)]
    print(f"verifying: Contexta reads runs {checked_runs} of both (a full scan each, ~0.25 ms per record) ...",
          flush=True)
    finished = run_process([str(python), str(HERE / "build_workspace.py"), "verify", "--size", str(size),
                            "--workspace", str(folder / ".contexta"), "--reference", str(reference_root),
                            "--runs", ",".join(map(str, checked_runs))])
    verification = json.loads(finished.stdout.strip().splitlines()[-1]) if finished.stdout.strip() else {}
    if finished.returncode != 0 or not verification.get("ok"):
        raise BenchmarkError(f"the generated {size}-run workspace does not read back like Contexta's own: "
                             f"{verification.get('problems') or finished.stderr[-2000:]}")
    stamp = {**expected, "build_seconds": seconds, "verification": verification}
    (folder / "build.json").write_text(json.dumps(stamp, indent=2), encoding="utf-8")
    return Workspace(size, folder / ".contexta", "generated", seconds, verification)


# -- commands -------------------------------------------------------------------------------------------------------


@dataclass
class Commands:
    pytest_python: str
    contexta_python: Path
    workspace: Workspace
    report_dir: Path

    @property
    def candidate(self) -> str:
        return scenario.run_ref(scenario.candidate_indexes(self.workspace.size)[0])

    @property
    def session_candidates(self) -> list[str]:
        return [scenario.run_ref(index) for index in scenario.candidate_indexes(self.workspace.size, SESSION_CANDIDATES)]

    @property
    def baseline(self) -> str:
        return scenario.run_ref(scenario.baseline_index(self.workspace.size))

    def case_study(self) -> list[str]:
        return [str(self.contexta_python), str(HERE / "case_study_gate.py"), str(self.workspace.root),
                self.candidate, self.baseline]

    def plugin(self, candidates: list[str], *extra: str) -> list[str]:
        return [self.pytest_python, "-m", "pytest", str(GATE_SUITE), "-q", "-p", "no:cacheprovider",
                f"--contexta-workspace={self.workspace.root}", *(f"--contexta-candidate={c}" for c in candidates),
                *extra]

    def floor(self, *, plugin: bool = False) -> list[str]:
        disable = [] if plugin else ["-p", "no:contexta"]
        return [self.pytest_python, "-m", "pytest", str(FLOOR_SUITE), "-q", "-p", "no:cacheprovider", *disable]


def floor_env(candidates: int) -> dict[str, str]:
    return clean_env(BENCH_FLOOR_CANDIDATES=str(candidates))


# -- checks (untimed; they double as warm-up) ---------------------------------------------------------------------------


def check_gates(commands: Commands) -> dict[str, Any]:
    """Both gates pass the candidate; the plugin picks the case study's baseline and reads each run once."""
    case = json.loads(checked(run_process(commands.case_study()), "the case-study gate").stdout.strip().splitlines()[-1])
    if not case["passed"]:
        raise BenchmarkError(f"the case-study gate failed the benchmark candidate: {case['checks']}")
    report = commands.report_dir / "gate-report.json"
    reads = commands.report_dir / "reads.json"
    env = clean_env(PYTHONPATH=str(SUITES), BENCH_READS_FILE=str(reads))
    checked(run_process(commands.plugin([commands.candidate], f"--contexta-report={report}", "-p", "count_reads",
                                        ), env=env), "the plugin's gate")
    _check_report(report, [commands.candidate], commands.baseline)
    _check_reads(reads, [commands.candidate, commands.baseline])
    session = commands.session_candidates
    checked(run_process(commands.plugin(session, f"--contexta-report={report}", "-p", "count_reads"), env=env),
            f"the plugin's gate over {len(session)} candidates")
    _check_report(report, session, commands.baseline)
    _check_reads(reads, [*session, commands.baseline])
    for candidates in (1, SESSION_CANDIDATES):
        finished = checked(run_process(commands.floor(), env=floor_env(candidates)), "the floor suite")
        if f"{9 * candidates} passed" not in finished.stdout:
            raise BenchmarkError(f"the floor suite did not run {9 * candidates} tests: {finished.stdout[-500:]}")
    return {"case_study": case}


def _check_report(path: Path, candidates: list[str], baseline: str) -> None:
    report = json.loads(path.read_text(encoding="utf-8"))
    found = {candidate["run_ref"]: candidate for candidate in report["candidates"]}
    for ref in candidates:
        entry = found.get(ref)
        if entry is None or entry["verdict"] != "pass" or len(entry["checks"]) != 9:
            raise BenchmarkError(f"the plugin's verdict for {ref} is not a pass of 9 checks: {entry}")
        if entry["baseline"]["run_ref"] != baseline:
            raise BenchmarkError(f"the plugin chose baseline {entry['baseline']['run_ref']} for {ref}, "
                                 f"the case study uses {baseline}")


def _check_reads(path: Path, runs: list[str]) -> None:
    reads = json.loads(path.read_text(encoding="utf-8"))
    wrong = {run: reads.get(run, 0) for run in runs if reads.get(run, 0) != 1}
    extra = sorted(set(reads) - set(runs))
    if wrong or extra:
        raise BenchmarkError(f"each run should be read exactly once per session; reads {wrong}, unexpected {extra}")


def check_dormant(pytest_python: str) -> dict[str, Any]:
    """With no candidate the plugin is loaded but imports none of its heavy dependencies."""
    probe = ("import json, sys, pytest\n"
             f"code = pytest.main([{str(FLOOR_SUITE)!r}, '-q', '-p', 'no:cacheprovider'])\n"
             f"print(json.dumps({{'exit': int(code), 'plugin': 'pytest_contexta.plugin' in sys.modules, "
             f"'heavy': sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)}}))\n")
    finished = checked(run_process([pytest_python, "-c", probe]), "pytest with the dormant plugin")
    found = json.loads(finished.stdout.strip().splitlines()[-1])
    if found["exit"] != 0 or not found["plugin"]:
        raise BenchmarkError(f"the dormant-plugin probe did not run the floor suite with the plugin loaded: {found}")
    if found["heavy"]:
        raise BenchmarkError(f"the dormant plugin imported {found['heavy']}: keep those imports lazy")
    timing = checked(run_process([pytest_python, "-X", "importtime", "-m", "pytest", str(FLOOR_SUITE), "-q",
                                  "-p", "no:cacheprovider"]), "pytest -X importtime")
    own = 0
    for line in timing.stderr.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[2].strip().startswith("pytest_contexta"):
            own += int(parts[0].split(":")[1])
    return {"heavy_imported": found["heavy"], "plugin_import_ms": own / 1000}


# -- timing -----------------------------------------------------------------------------------------------------------


@dataclass
class Series:
    samples: list[Sample] = field(default_factory=list)

    def add(self, finished: Finished, what: str) -> None:
        self.samples.append(checked(finished, what).sample)

    @property
    def median(self) -> float:
        return statistics.median(sample.seconds for sample in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(sample.cpu_seconds for sample in self.samples)

    @property
    def max_rss(self) -> float:
        return max(sample.max_rss_mb for sample in self.samples)


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
            if done == 0 or spent[position] / done * (done + 1) <= case_study_budget:
                found["case_study"].add(run_process(commands.case_study()), "the case-study gate")
                spent[position] += found["case_study"].samples[-1].seconds
            found["plugin"].add(run_process(commands.plugin([commands.candidate])), "the plugin's gate")
            found["floor"].add(run_process(commands.floor(), env=floor_env(1)), "the floor suite")
            found["dormant"].add(run_process(commands.floor(plugin=True), env=floor_env(1)), "the dormant plugin")
            found["session"].add(run_process(commands.plugin(commands.session_candidates)), "the 50-candidate gate")
            found["session_floor"].add(run_process(commands.floor(), env=floor_env(SESSION_CANDIDATES)),
                                       "the 450-test floor")
            print(f"  round {number}/{rounds}, {commands.workspace.size:,} runs: " + ", ".join(
                f"{name} {s.samples[-1].seconds:.2f}s" for name, s in found.items() if s.samples), flush=True)
    return series


READER_PROBE = """
import json, statistics, sys, time
from pytest_contexta.refs import parse_run_ref
from pytest_contexta.segments import RecordReader
from pytest_contexta.workspace import Workspace
root, candidate, baseline, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
started = time.perf_counter()
workspace = Workspace(root)
workspace.resolve_run(candidate)
opened = time.perf_counter() - started
loads, reads = [], []
reader = RecordReader(workspace.root / "records")
for _ in range(repeats):
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


def time_reader(commands: Commands, repeats: int = 20) -> dict[str, float]:
    """In one process: open the workspace, then load candidate + baseline and read the candidate's records."""
    finished = checked(run_process([commands.pytest_python, "-c", READER_PROBE, str(commands.workspace.root),
                                    commands.candidate, commands.baseline, str(repeats)]), "the reader probe")
    return json.loads(finished.stdout.strip().splitlines()[-1])


# -- report -------------------------------------------------------------------------------------------------------------


@dataclass
class SizeResult:
    workspace: Workspace
    series: dict[str, Series]
    reader: dict[str, float]
    load: tuple[float, float]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def render(results: list[SizeResult], dormant: dict[str, Any], context: dict[str, str]) -> str:
    lines = [
        f"Measured {context['date']} on {context['machine']}; pytest side: {context['pytest_python']}; "
        f"case study: {context['contexta_python']}. Reproduce with:",
        "",
        "```",
        context["command"],
        "```",
        "",
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
        s, w = result.series, result.workspace
        lines.append(
            f"| {w.size:,} ({20 * w.size:,}) | {_ms(s['case_study'].median)} | {_ms(s['plugin'].median)} "
            f"| {_ms(s['floor'].median)} | {s['case_study'].median / s['plugin'].median:,.0f}× "
            f"| {s['plugin'].median / s['floor'].median:.2f}× | {s['plugin'].cpu / s['floor'].cpu:.2f}× "
            f"| {s['plugin'].max_rss:.0f} MB | {s['case_study'].max_rss:.0f} MB "
            f"| {len(s['case_study'].samples)} / {len(s['plugin'].samples)} |")
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
        lines.append(f"| {result.workspace.size:,} | {_ms(s['session'].median)} | {_ms(s['session_floor'].median)} "
                     f"| {s['session'].median / s['session_floor'].median:.2f}× | {s['session'].max_rss:.0f} MB |")
    lines += [
        "",
        "The plugin's reader inside one process (median of 20): opening the workspace and the ledger (the "
        "layout check, DuckDB read-only, the first lookup), "
        "loading candidate + baseline (ledger rows, records, diagnostics), and reading the candidate's "
        "records alone (run_ref index + binary search by sequence in the segment):",
        "",
        "| runs | segment size | open + first lookup | load candidate + baseline | one run's records |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        size_mb = sum(path.stat().st_size for path in (result.workspace.root / "records" / "segments").glob("*")) / 2**20
        r = result.reader
        lines.append(f"| {result.workspace.size:,} | {size_mb:,.0f} MB | {r['open'] * 1000:.1f} ms "
                     f"| {r['load_two'] * 1000:.1f} ms | {r['read_one'] * 1000:.2f} ms |")
    floor = statistics.median(sample.seconds for r in results for sample in r.series["floor"].samples)
    dormant_median = statistics.median(sample.seconds for r in results for sample in r.series["dormant"].samples)
    lines += [
        "",
        f"Start-up of an ordinary test run (the floor suite, no candidate): {_ms(dormant_median)} with the plugin "
        f"installed and dormant, {_ms(floor)} with `-p no:contexta` "
        f"({(dormant_median - floor) * 1000:+.0f} ms); the plugin's own modules take "
        f"{dormant['plugin_import_ms']:.1f} ms to import (`-X importtime`), and "
        f"{', '.join(HEAVY_MODULES)} are not imported.",
        "",
        "Targets:",
        "",
    ]
    by_size = {result.workspace.size: result.series for result in results}
    if 2_000 in by_size:
        s = by_size[2_000]
        speedup = s["case_study"].median / s["plugin"].median
        lines.append(f"- 2,000 runs, plugin ≥ 40× faster than the case study: {speedup:,.0f}× — {_verdict(speedup >= 40)}")
        ratio = s["plugin"].median / s["floor"].median
        lines.append(f"- 2,000 runs, plugin within 2× of the floor: {ratio:.2f}× — {_verdict(ratio <= 2)}")
    if 2_000 in by_size and 20_000 in by_size:
        growth = by_size[20_000]["plugin"].median / by_size[2_000]["plugin"].median
        cpu_growth = by_size[20_000]["plugin"].cpu / by_size[2_000]["plugin"].cpu
        lines.append(f"- 2,000 → 20,000 runs, plugin time grows ≤ 1.5×: {growth:.2f}× (CPU time {cpu_growth:.2f}×) "
                     f"— {_verdict(growth <= 1.5)}")
    if 20_000 in by_size:
        peak = max(by_size[20_000]["plugin"].max_rss, by_size[20_000]["session"].max_rss)
        lines.append(f"- 20,000 runs, peak memory ≤ 150 MB: {peak:.0f} MB — {_verdict(peak <= 150)}")
    lines.append(f"- dormant plugin: {(dormant_median - floor) * 1000:+.0f} ms on an ordinary run, no heavy imports "
                 f"— {_verdict(not dormant['heavy_imported'])}")
    lines += ["", "Workspaces:", ""]
    for result in results:
        w = result.workspace
        how = ("written by the real Contexta library (low-level stores, `append_many` per run, flush durability)"
               if w.method == "Contexta" else
               f"generated in Contexta's format and checked against runs Contexta wrote: "
               f"{w.verification['byte_checked_runs']} runs byte for byte, Contexta's own snapshot/diagnose of "
               f"{', '.join(w.verification['contexta_checked_runs'])} identical")
        lines.append(f"- {w.size:,} runs: {how}; built in {w.build_seconds:,.0f} s.")
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, results_text: str) -> None:
    """Replace the results block of ``path`` (or create the file with just that block)."""
    block = f"{RESULTS_START}\n{results_text}{RESULTS_END}"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if RESULTS_START in text and RESULTS_END in text:
        before, rest = text.split(RESULTS_START, 1)
        text = before + block + rest.split(RESULTS_END, 1)[1]
    else:
        text = (text.rstrip() + "\n\n" if text else "# Benchmarks\n\n") + block + "\n"
    path.write_text(text, encoding="utf-8")


# -- entry point -----------------------------------------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes takes comma-separated run counts, e.g. 200,2000; got {text!r}")
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError(f"--sizes needs run counts of at least 100; got {text!r}")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=_sizes, default=list(DEFAULT_SIZES), help="run counts (default 200,2000,20000)")
    parser.add_argument("--smoke", action="store_true",
                        help="CI mode: the smallest size, 2 rounds, the generator checked too, no BENCHMARKS.md")
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds per size (default 5)")
    parser.add_argument("--case-study-budget", type=float, default=600.0, metavar="SECONDS",
                        help="stop timing the case study at a size once its runs would exceed this (default 600)")
    parser.add_argument("--real-max", type=int, default=2_000,
                        help="larger sizes are generated in bulk instead of written by Contexta (default 2000)")
    parser.add_argument("--contexta-python", type=Path, help="a Python (>= 3.12) that can import contexta")
    parser.add_argument("--output", type=Path, help="markdown file for the results (default BENCHMARKS.md; "
                                                     "none with --smoke)")
    args = parser.parse_args(argv)
    sizes = args.sizes[:1] if args.smoke else args.sizes
    rounds = 2 if args.smoke else args.rounds
    output = args.output or (None if args.smoke else REPO / "BENCHMARKS.md")
    try:
        CACHE.mkdir(exist_ok=True)
        python = contexta_python(args.contexta_python)
        dormant = check_dormant(sys.executable)
        results = []
        all_commands = []
        for size in sizes:
            workspace = (real_workspace(python, size) if size <= args.real_max else generated_workspace(python, size))
            if args.smoke:
                generated_workspace(python, size, reference=workspace)
            commands = Commands(sys.executable, python, workspace, Path(tempfile.mkdtemp(prefix="bench-", dir=CACHE)))
            print(f"{size:,} runs: checking both gates ...", flush=True)
            check_gates(commands)
            all_commands.append(commands)
        print(f"timing {rounds} rounds, every size in each ...", flush=True)
        load_before = os.getloadavg()[0]
        all_series = time_all(all_commands, rounds, args.case_study_budget)
        load = (load_before, os.getloadavg()[0])
        for commands, series in zip(all_commands, all_series):
            results.append(SizeResult(commands.workspace, series, time_reader(commands), load))
            shutil.rmtree(commands.report_dir, ignore_errors=True)
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    command = "python benchmarks/run_benchmarks.py" + ("" if sizes == list(DEFAULT_SIZES) else
                                                       f" --sizes {','.join(map(str, sizes))}")
    context = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}",
        "pytest_python": f"Python {platform.python_version()}",
        "contexta_python": subprocess.run([str(python), "-c", "import sys, contexta, duckdb; print(f'Python "
                                           "{sys.version.split()[0]}, contexta {contexta.__version__}, duckdb "
                                           "{duckdb.__version__}')"], capture_output=True, text=True).stdout.strip(),
        "command": command,
    }
    text = render(results, dormant, context)
    print(text)
    if output is not None:
        write_markdown(output, text)
        print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
