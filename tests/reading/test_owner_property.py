"""Differential property test (issue 22, item 1): for any bytes, the records the reader finds for a run are those
that ``json.loads`` of every line and the envelope's ``run_ref`` give (:func:`_reference`), and every line that
reference gives the run is among the run's records or its damaged lines (fail closed, never hidden).

Segments are lines of the committed ``steps`` workspace (two runs, per-step metrics whose shapes the reader learns,
events), each possibly changed: keys and values spelled with ``\\uXXXX`` escapes (either hex case) or ``\\/``, surrogate
pairs, tags and payload fields named like envelope fields (``run_ref``, ``record_type``, ``stage_execution_ref``)
holding either run's ref, nested objects, a duplicate ``run_ref`` key (either run last), whitespace and key-order
variants, another run's ref, garbage and blank lines; with Contexta's index present (and stale: it names lines the
changes moved) or missing. ``EXAMPLES`` = 150 examples find the escaped-key attack of the issue from scratch (with
the reader of main before the fix, and the duplicate-key and escaped-value changes left out, six runs of six found
it, each a line whose key is spelled ``"run_re\\u0066"``, shrunk; there is no stored database);
the test takes ~10 s.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import WORKSPACES
from pytest_contexta.reading.record_lines import parse_line
from pytest_contexta.reading.records import DamagedLine, RecordLocation
from pytest_contexta.reading.refs import parse_run_ref
from pytest_contexta.reading.segments import RecordReader

pytestmark = pytest.mark.slow  # a property sweep over generated segments

STEPS = WORKSPACES / "steps"
SEGMENT = Path("segments") / "segment-000001.jsonl"
LINES = (STEPS / "records" / SEGMENT).read_bytes().rstrip(b"\n").split(b"\n")
RUNS = ["run:steps.candidate", "run:steps.baseline"]
EXAMPLES = 150
LOCATION = RecordLocation(segment="segment-000001.jsonl", line=1, byte_offset=0)


def _escape(text: str, draw: Any) -> str:
    """``text`` (a JSON string's content, without quotes) with some of its characters as ``\\uXXXX`` escapes."""
    mask = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    upper = draw(st.booleans())
    out = []
    for char, escaped in zip(text, mask):
        code = f"\\u{ord(char):04x}"
        out.append((code.upper().replace("\\U", "\\u") if upper else code) if escaped else char)
    return "".join(out)


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


@st.composite
def changed_line(draw: Any, line: bytes) -> bytes:
    """``line``, changed in one of the ways the module docstring lists (or left as it is)."""
    text = line.decode()
    document = json.loads(text)
    envelope, payload = document["record"]["envelope"], document["record"]["payload"]
    own, other = envelope["run_ref"], draw(st.sampled_from(RUNS))
    field = f'"run_ref":"{own}"'
    change = draw(
        st.sampled_from(
            [
                "none",
                "escaped key",
                "escaped key",
                "escaped key",
                "escaped value",
                "slash escape",
                "surrogate pair",
                "envelope-named tag",
                "envelope-named tag",
                "envelope-named tag",
                "nested field",
                "duplicate key",
                "whitespace",
                "key order",
                "other run",
                "garbage",
                "blank",
            ]
        )
    )
    if change == "escaped key":
        return text.replace(field, f'"{_escape("run_ref", draw)}":"{own}"').encode()
    if change == "escaped value":
        return text.replace(field, f'"run_ref":"{_escape(own, draw)}"').encode()
    if change == "slash escape":
        return text.replace(
            '"producer_ref":"pytest-contexta.tests"', '"producer_ref":"pytest-contexta.tests\\/x"'
        ).encode()
    if change in ("surrogate pair", "envelope-named tag", "nested field"):
        name = draw(st.sampled_from(["run_ref", "run_ref", "record_type", "stage_execution_ref", "\\u0072un_ref"]))
        value: Any = {
            "surrogate pair": "\ud83d\ude00",
            "envelope-named tag": other,
            "nested field": {"run_ref": other, "envelope": {"run_ref": other}},
        }[change]
        holder = payload.setdefault("tags" if "tags" in payload else "attributes", {})
        holder[json.loads(f'"{name}"')] = value
        return _compact(document).encode()
    if change == "duplicate key":
        first, last = (other, own) if draw(st.booleans()) else (own, other)
        return text.replace(field, f'"run_ref":"{first}","run_ref":"{last}"').encode()
    if change == "whitespace":
        return text.replace(field, draw(st.sampled_from([f'"run_ref": "{own}"', f'"run_ref" :"{own}"']))).encode()
    if change == "key order":
        record = document["record"]
        document["record"] = {"payload": record["payload"], "envelope": {"run_ref": own, **envelope}}
        return _compact(document).encode()
    if change == "other run":
        return text.replace(field, f'"run_ref":"{other}"').encode()
    if change == "garbage":
        return line[: draw(st.integers(0, len(line) - 1))]
    if change == "blank":
        return draw(st.sampled_from([b"", b"  ", b"\r"]))
    return line


@st.composite
def segments(draw: Any) -> list[bytes]:
    """Lines of the steps segment in their order, a few of them changed."""
    chosen = sorted(set(draw(st.lists(st.integers(0, len(LINES) - 1), min_size=1, max_size=40))))
    changed = set(draw(st.lists(st.sampled_from(chosen), max_size=8)))
    return [draw(changed_line(LINES[index])) if index in changed else LINES[index] for index in chosen]


def _reference(line: bytes) -> str | None:
    """The run ``json.loads`` and the envelope's run_ref give ``line``, if any."""
    try:
        owner = json.loads(line.decode())["record"]["envelope"]["run_ref"]
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    return owner if isinstance(owner, str) else None


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(lines=segments(), index=st.sampled_from(["present", "missing"]))
def test_the_reader_finds_for_a_run_what_json_loads_gives_it(lines: list[bytes], index: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "records"
        (root / "segments").mkdir(parents=True)
        shutil.copy(STEPS / "records" / "manifest.json", root / "manifest.json")
        if index == "present":
            shutil.copytree(STEPS / "records" / "indexes", root / "indexes")
        (root / SEGMENT).write_bytes(b"\n".join(lines) + b"\n")
        found = RecordReader(root).read_runs([parse_run_ref(run) for run in RUNS])

    for run in RUNS:
        records = {record.location.line for record in found[run].records}
        damaged = {line.location.line for line in found[run].damaged}
        mine = {number for number, line in enumerate(lines, start=1) if _reference(line) == run}
        assert records <= mine, f"{run}: records of lines JSON gives another run: {sorted(records - mine)}"
        hidden = mine - records - damaged
        assert not hidden, f"{run}: lines hidden from the reader: {[lines[n - 1] for n in sorted(hidden)]}"
        for number in mine - damaged:
            assert not isinstance(parse_line(lines[number - 1], LOCATION), DamagedLine), f"{run}: line {number}"
