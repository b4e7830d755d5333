"""The benchmark's workspaces: built once (by Contexta, or generated and checked against Contexta), cached.

Every workspace lives in ``benchmarks/.cache/<name>/.contexta`` with a ``build.json`` stamp; a stamp
whose scenario version or parameters differ means a rebuild.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import scenario
from processes import REPO, BenchmarkError, checked, last_json_line, run_process

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
BUILDER = HERE / "build_workspace.py"
#: Contexta reads generated workspaces up to this size back in full (a full scan per call, ~0.25 ms a record).
READBACK_MAX = 20_000
#: The per-step generator is checked against Contexta at this many steps.
STEPS_CHECKED = 300


@dataclass
class Workspace:
    name: str
    root: Path
    method: str
    build_seconds: float
    verification: dict[str, Any] | None = None

    @property
    def segment_bytes(self) -> int:
        return sum(path.stat().st_size for path in (self.root / "records" / "segments").glob("segment-*.jsonl"))


# -- the Python that has contexta ----------------------------------------------------------------------------


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
    raise BenchmarkError(
        "no Python 3.12 or 3.13 found for contexta (its read path needs >= 3.12): install one "
        "(e.g. pyenv install 3.13) or pass --contexta-python PATH"
    )


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def contexta_python(given: Path | None, plugin_duckdb: str) -> Path:
    """``given``, or ``.cache/venv-contexta`` (created on first use); its duckdb must not be newer than the plugin's."""
    if given is not None:
        if not _has_contexta(given):
            raise BenchmarkError(
                f"--contexta-python {given} cannot import contexta and duckdb: "
                f"pip install --ignore-requires-python contexta into it"
            )
        theirs = subprocess.run(
            [str(given), "-c", "import duckdb; print(duckdb.__version__)"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if _version(theirs) > _version(plugin_duckdb):
            raise BenchmarkError(
                f"--contexta-python {given} has duckdb {theirs}, newer than the plugin's "
                f"{plugin_duckdb}, which could not read the ledgers it writes: "
                f"pip install duckdb=={plugin_duckdb} into it, or upgrade duckdb on the pytest side"
            )
        return given
    venv = CACHE / "venv-contexta"
    python = venv / "bin" / "python"
    if _has_contexta(python):
        return python
    base = _base_python()
    print(f"creating {venv.relative_to(REPO)} from {base} ...", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    checked(run_process([base, "-m", "venv", str(venv)]), "python -m venv")
    checked(
        run_process(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--ignore-requires-python",
                "contexta",
                f"duckdb=={plugin_duckdb}",
            ],
            timeout=900,
        ),
        "pip install contexta",
    )
    if not _has_contexta(python):
        raise BenchmarkError(f"{python} still cannot import contexta after pip install")
    return python


# -- building ------------------------------------------------------------------------------------------------


def _stamp_ok(folder: Path, expected: dict[str, Any]) -> dict[str, Any] | None:
    stamp = folder / "build.json"
    if not stamp.is_file():
        return None
    data = json.loads(stamp.read_text(encoding="utf-8"))
    if not all(data.get(key) == value for key, value in expected.items()):
        return None
    return data if data.get("verification", {"ok": True}).get("ok") else None


def _write_stamp(folder: Path, stamp: dict[str, Any]) -> None:
    (folder / "build.json").write_text(json.dumps(stamp, indent=2), encoding="utf-8")


def _builder(python: Path, *arguments: str, what: str) -> dict[str, Any]:
    return last_json_line(checked(run_process([str(python), str(BUILDER), *arguments]), what), what)


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder / ".contexta"


def _verify(python: Path, generated: Path, reference: Path, records: int, runs: list[int], what: str) -> dict[str, Any]:
    print(
        f"verifying {what} against runs Contexta wrote"
        + (f"; Contexta reads runs {runs} of both ..." if runs else " (byte comparison) ..."),
        flush=True,
    )
    finished = run_process(
        [
            str(python),
            str(BUILDER),
            "verify",
            "--records",
            str(records),
            "--workspace",
            str(generated),
            "--reference",
            str(reference),
            "--runs",
            ",".join(map(str, runs)),
        ]
    )
    verification = last_json_line(finished, f"verifying {what}") if finished.stdout.strip() else {}
    if finished.returncode != 0 or not verification.get("ok"):
        raise BenchmarkError(
            f"{what} does not read back like Contexta's own: {verification.get('problems') or finished.stderr[-2000:]}"
        )
    return verification


def real_workspace(python: Path, size: int) -> Workspace:
    """All ``size`` runs written by the real Contexta library."""
    folder = CACHE / f"ws-{size}"
    expected = {"scenario": scenario.SCENARIO_VERSION, "method": "contexta", "size": size}
    stamp = _stamp_ok(folder, expected)
    if stamp is None:
        print(f"building {size:,} runs with Contexta (cached in {folder.relative_to(REPO)}) ...", flush=True)
        root = _fresh(folder)
        seconds = _builder(
            python, "real", "--size", str(size), "--out", str(root), what=f"writing {size} runs with Contexta"
        )["seconds"]
        stamp = {**expected, "build_seconds": seconds}
        _write_stamp(folder, stamp)
    return Workspace(f"{size:,} runs", folder / ".contexta", "Contexta", stamp["build_seconds"])


def generated_workspace(python: Path, size: int, reference: Workspace | None = None) -> Workspace:
    """Runs written in bulk, then checked against runs the real library wrote.

    The reference is ``reference`` (a real workspace of the same size) or a small real workspace of
    the sample runs: run 0, every deployed run and the first and last of 50 candidates. Contexta's own
    read-back (snapshot + diagnose) is compared up to ``READBACK_MAX`` runs; above, the byte comparison.
    """
    folder = CACHE / (f"ws-{size}" if reference is None else f"gen-check-{size}")
    expected = {"scenario": scenario.SCENARIO_VERSION, "method": "generated", "size": size}
    stamp = _stamp_ok(folder, expected)
    if stamp is not None:
        return Workspace(
            f"{size:,} runs", folder / ".contexta", "generated", stamp["build_seconds"], stamp["verification"]
        )
    print(f"generating {size:,} runs in Contexta's format (cached in {folder.relative_to(REPO)}) ...", flush=True)
    root = _fresh(folder)
    seconds = _builder(python, "generate", "--size", str(size), "--out", str(root), what=f"generating {size} runs")[
        "seconds"
    ]
    if reference is None:
        reference_root = folder / "reference" / ".contexta"
        candidates = scenario.candidate_indexes(size, 50)
        sample = sorted(
            {0, *(spec.run_index for spec in scenario.deployment_specs(size)), candidates[0], candidates[-1]}
        )
        print(f"writing the sample runs {sample} with Contexta as the reference ...", flush=True)
        _builder(
            python,
            "real",
            "--size",
            str(size),
            "--out",
            str(reference_root),
            "--only",
            ",".join(map(str, sample)),
            what="writing the reference runs",
        )
    else:
        reference_root = reference.root
    readback = [scenario.candidate_indexes(size)[0], scenario.baseline_index(size)] if size <= READBACK_MAX else []
    verification = _verify(python, root, reference_root, 20 * size, readback, f"the generated {size:,}-run workspace")
    stamp = {**expected, "build_seconds": seconds, "verification": verification}
    _write_stamp(folder, stamp)
    return Workspace(f"{size:,} runs", root, "generated", seconds, verification)


def steps_workspace(python: Path, steps: int) -> Workspace:
    """The per-step workspace (``scenario.steps_runs``): Contexta-written up to ``STEPS_CHECKED`` steps,
    generated above, after the generator was checked against Contexta at ``STEPS_CHECKED`` steps."""
    if steps <= STEPS_CHECKED:
        return _real_steps(python, steps)
    checked_reference = _real_steps(python, STEPS_CHECKED)
    check = _generated_steps(python, STEPS_CHECKED, checked_reference)
    workspace = _generated_steps(python, steps, None)
    workspace.verification = {**(workspace.verification or {}), "generator_check": check.verification}
    return workspace


def _steps_records(steps: int) -> int:
    return sum(len(stage.metrics) for spec in scenario.steps_runs(steps) for stage in spec.stages)


def _real_steps(python: Path, steps: int) -> Workspace:
    folder = CACHE / f"steps-{steps}-contexta"
    expected = {"scenario": scenario.SCENARIO_VERSION, "method": "contexta", "steps": steps}
    stamp = _stamp_ok(folder, expected)
    if stamp is None:
        print(f"writing the per-step workspace with {steps:,} steps with Contexta ...", flush=True)
        root = _fresh(folder)
        seconds = _builder(
            python, "real-steps", "--steps", str(steps), "--out", str(root), what=f"writing {steps} steps with Contexta"
        )["seconds"]
        stamp = {**expected, "build_seconds": seconds}
        _write_stamp(folder, stamp)
    return Workspace(f"{steps:,} steps", folder / ".contexta", "Contexta", stamp["build_seconds"])


def _generated_steps(python: Path, steps: int, reference: Workspace | None) -> Workspace:
    """Generated; compared byte for byte and by Contexta's read-back with ``reference`` (same steps), or,
    for large ``steps``, checked for consistency (record count, manifest, index pointers) only."""
    folder = CACHE / f"steps-{steps}"
    expected = {"scenario": scenario.SCENARIO_VERSION, "method": "generated", "steps": steps}
    stamp = _stamp_ok(folder, expected)
    if stamp is None:
        print(
            f"generating the per-step workspace with {steps:,} steps (cached in {folder.relative_to(REPO)}) ...",
            flush=True,
        )
        root = _fresh(folder)
        seconds = _builder(
            python, "generate-steps", "--steps", str(steps), "--out", str(root), what=f"generating {steps} steps"
        )["seconds"]
        if reference is not None:
            runs = [scenario.STEPS_CANDIDATE, scenario.STEPS_BASELINE, scenario.STEPS_REGRESSED]
            verification = _verify(
                python, root, reference.root, _steps_records(steps), runs, f"the generated {steps}-step workspace"
            )
        else:
            # The runs Contexta wrote itself (baseline, regressed candidate) are their own reference.
            verification = _verify(
                python, root, root, _steps_records(steps), [], f"the generated {steps:,}-step workspace's consistency"
            )
        stamp = {**expected, "build_seconds": seconds, "verification": verification}
        _write_stamp(folder, stamp)
    return Workspace(
        f"{steps:,} steps", folder / ".contexta", "generated", stamp["build_seconds"], stamp["verification"]
    )


def deployments_workspace(python: Path, base: Workspace, size: int, count: int) -> Workspace:
    """A copy of the ``size``-run workspace ``base`` to which Contexta adds ``count`` older deployments."""
    folder = CACHE / f"ws-{size}-deployments-{count}"
    expected = {"scenario": scenario.SCENARIO_VERSION, "method": "contexta", "size": size, "deployments": count}
    stamp = _stamp_ok(folder, expected)
    if stamp is None:
        print(f"copying the {size:,}-run workspace; Contexta adds {count:,} deployments ...", flush=True)
        root = _fresh(folder)
        shutil.copytree(base.root, root)
        seconds = _builder(
            python,
            "add-deployments",
            "--size",
            str(size),
            "--count",
            str(count),
            "--out",
            str(root),
            what=f"adding {count} deployments with Contexta",
        )["seconds"]
        stamp = {**expected, "build_seconds": seconds}
        _write_stamp(folder, stamp)
    return Workspace(
        f"{size:,} runs, {count + len(scenario.DEPLOYMENTS):,} deployments",
        folder / ".contexta",
        "Contexta",
        stamp["build_seconds"],
    )
