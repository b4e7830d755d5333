"""The example gate's outputs, byte for byte: JSON report, markdown and the plugin's terminal lines of every run
of the example workspace gated as the candidate, compared with the copies recorded in tests/outputs/recorded/.

Only what changes from one machine or moment to the next is masked (paths, the report's time, versions, the
git commit, the ledger's mtime; the report's floats beyond 9 significant digits); pytest's own lines (header,
tracebacks, summary) are left out, they differ between pytest versions. After a deliberate change of an
output, record them again and review the diff:

    .venv/bin/python tests/outputs/test_recorded_outputs.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a pytest process per session (the renderings alone: test_terminal, test_markdown)

TESTS = Path(__file__).parents[1]
RECORDED = Path(__file__).parent / "recorded"
EXAMPLE_GATES = TESTS.parent / "example_gates"
#: The shipped waiver (example_gates/waivers.toml), long expired; the sessions run with the clock frozen years
#: ahead (tests/frozen_clock.py), so the recorded days (``today``, ``days_left``) are the same on any day.
SHIPPED_EXPIRY = "2025-06-30"
RUNS = [
    "product-ranker." + name
    for name in (
        "april-wrong-dataset",
        "baseline-v0",
        "baseline-v1",
        "candidate-v0-canary",
        "candidate-v2-good",
        "candidate-v3-no-eval",
        "candidate-v4-regressed",
        "candidate-v5-slower",
        "candidate-v6-faster",
        "march-wrong-stage",
        "may-eval-skipped",
    )
] + [
    "search-ranker." + name
    for name in (
        "release-1",
        "release-5",
        "seeds-last-fine",
        "seeds-regressed",
        "seeds-too-noisy",
        "seeds-within-noise",
    )
]
#: Sessions: a name and the candidates it gates (one session gating three candidates at once too).
SESSIONS = {run: [run] for run in RUNS} | {
    "three-candidates": [
        "product-ranker.candidate-v2-good",
        "product-ranker.candidate-v4-regressed",
        "search-ranker.seeds-too-noisy",
    ]
}


def fixed_length_folder() -> Path:
    """A new folder whose path is as long on every run (``/tmp/tmpXXXXXXXX``): the plugin's header lines, which
    hold the example's and the outputs' paths, wrap at 80 columns, so a masked copy matches only when the paths
    it masks had the same length."""
    return Path(tempfile.mkdtemp(dir="/tmp" if os.path.isdir("/tmp") else None))


def example_copy(target: Path) -> Path:
    """example_gates/ copied to ``target`` as shipped."""
    shutil.copytree(EXAMPLE_GATES, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    assert (target / "waivers.toml").read_text(encoding="utf-8").count(f"expires = {SHIPPED_EXPIRY}") == 1
    return target


def plugin_lines(stdout: str) -> str:
    """The plugin's own terminal lines: its header and baseline lines, and the verdict block."""
    kept, in_block, in_header = [], False, False
    for line in stdout.splitlines():
        if re.fullmatch(r"=+ contexta gate =+", line):
            in_block = True
        elif in_block and line.startswith("=") and line.endswith("="):
            in_block = False
        in_header = line.startswith("contexta ") or (in_header and line.startswith("    "))  # and its wrapped lines
        if in_block or in_header:
            kept.append(line)
    return "\n".join(kept) + "\n"


def masked(text: str, example: Path, out: Path) -> str:
    text = text.replace(str(out), "<out>").replace(str(example), "<example>")
    return re.sub(r'"created_at": "[^"]*"', '"created_at": "<time>"', text)


def masked_report(text: str, example: Path, out: Path) -> str:
    report = json.loads(masked(text, example, out))
    provenance = report.get("provenance") or {}
    for key in ("plugin_version", "pytest_version", "python_version", "git_commit", "git_commit_source"):
        if key in provenance:
            provenance[key] = f"<{key}>"
    if provenance.get("ledger"):
        provenance["ledger"]["modified"] = "<mtime>"
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def gate_outputs(session: str, example: Path, out: Path) -> dict[str, str]:
    """Run the example gate on the session's candidates; its outputs, masked, by file suffix."""
    out.mkdir(parents=True, exist_ok=True)
    report, markdown = out / "report.json", out / "summary.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTEXTA_", "PYTEST_", "GITHUB_"))}
    env |= {"COLUMNS": "80", "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    if str(TESTS) not in sys.path:  # run as a script, to record
        sys.path.insert(0, str(TESTS))
    import frozen_clock

    env |= {"PYTHONPATH": os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    env |= {frozen_clock.ENVIRONMENT: frozen_clock.FUTURE_TODAY.isoformat()}
    candidates = [f"--contexta-candidate=run:{run}" for run in SESSIONS[session]]
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(example),
        "-p",
        "pytest_contexta.plugin",
        "-p",
        "frozen_clock",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        f"--contexta-report={report}",
        f"--contexta-markdown={markdown}",
        *candidates,
    ]
    done = subprocess.run(command, cwd=example, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return {
        "exit": f"{done.returncode}\n",
        "txt": masked(plugin_lines(done.stdout), example, out),
        "json": masked_report(report.read_text(encoding="utf-8"), example, out),
        "md": masked(markdown.read_text(encoding="utf-8"), example, out),
    }


@pytest.fixture(scope="module")
def example() -> Iterator[Path]:
    folder = fixed_length_folder()
    yield example_copy(folder / "example_gates")
    shutil.rmtree(folder)


@pytest.mark.parametrize("session", list(SESSIONS))
def test_outputs_match_the_recorded_copies(session: str, example: Path) -> None:
    folder = fixed_length_folder()
    try:
        outputs = gate_outputs(session, example, folder / "out")
    finally:
        shutil.rmtree(folder)
    for suffix, text in outputs.items():
        recorded = (RECORDED / f"{session}.{suffix}").read_text(encoding="utf-8")
        assert comparable(suffix, text) == comparable(suffix, recorded), f"{session}.{suffix} differs from its copy"


def comparable(suffix: str, text: str) -> str:
    """The text as compared: the JSON report with its floats to 9 significant digits (the oldest supported
    scipy's t quantiles differ from the newest near the 10th digit; every number shown is rounded far coarser)."""
    if suffix != "json":
        return text
    return json.dumps(json.loads(text, parse_float=lambda digits: float(f"{float(digits):.9g}")), indent=2)


def record() -> None:
    """Write the recorded copies anew from this checkout."""
    RECORDED.mkdir(exist_ok=True)
    folder = fixed_length_folder()
    example = example_copy(folder / "example_gates")
    try:
        for session in SESSIONS:
            out = fixed_length_folder()
            for suffix, text in gate_outputs(session, example, out / "out").items():
                (RECORDED / f"{session}.{suffix}").write_text(text, encoding="utf-8")
            shutil.rmtree(out)
    finally:
        shutil.rmtree(folder)
    print(f"recorded {len(SESSIONS)} sessions in {RECORDED}")


if __name__ == "__main__":
    record()
