"""Property tests: arbitrary segment lines and run refs never raise anything but the documented errors,
and a damaged line of the candidate never lets a metric check pass on a value it could hold."""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import WORKSPACES
from pytest_contexta.checks.asserts import GateCheckFailed, assert_metrics_present
from pytest_contexta.errors import RunLookupError
from pytest_contexta.reading.record_lines import parse_line
from pytest_contexta.reading.records import (
    DamagedLine,
    DegradedRecord,
    EventRecord,
    MetricRecord,
    RecordLocation,
    SpanRecord,
)
from pytest_contexta.reading.refs import RefError, parse_run_ref
from pytest_contexta.runs.metrics import find_metric
from pytest_contexta.runs.workspace import Workspace

pytestmark = pytest.mark.slow  # property sweeps over fuzzed lines and refs

LATENCY = WORKSPACES / "latency"
SEGMENT = Path("records") / "segments" / "segment-000001.jsonl"
SEGMENT_LINES = (LATENCY / SEGMENT).read_bytes().splitlines(keepends=True)
#: (run, metric, 1-based segment line of its evaluate value): one in the middle, one at the segment's tail
TARGETS = [("run:svc.faster", "accuracy", 6), ("run:svc.mixed", "error-count", 16)]
LOCATION = RecordLocation(segment="segment-000001.jsonl", line=1, byte_offset=0)
RESULT_TYPES = (MetricRecord, EventRecord, DegradedRecord, SpanRecord, DamagedLine)
FUZZ = settings(max_examples=150, deadline=None, database=None)
FUZZ_FILES = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path inside a JSON document (not the root itself)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_documents(draw: st.DrawFn, line: bytes) -> bytes:
    """The line as JSON with one value replaced by arbitrary JSON (NaN and Infinity included) or removed."""
    document = json.loads(line)
    path = draw(st.sampled_from(sorted(_paths(document), key=repr)))
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def fuzzed_lines(line: bytes) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, and the real line truncated, with bytes inserted or changed, or with a value replaced."""
    body = line.rstrip(b"\n")
    fuzzed = st.one_of(
        st.binary(max_size=400),
        st.integers(0, len(body) - 1).map(lambda cut: body[:cut]),
        st.tuples(st.integers(0, len(body)), st.binary(min_size=1, max_size=8)).map(
            lambda change: body[: change[0]] + change[1] + body[change[0] :]
        ),
        st.tuples(st.integers(0, len(body) - 1), st.integers(0, 255)).map(
            lambda change: body[: change[0]] + bytes([change[1]]) + body[change[0] + 1 :]
        ),
        mutated_documents(body),
    )
    return fuzzed.map(lambda text: text.replace(b"\n", b" "))


# -- parse_line -----------------------------------------------------------------------------------


def _assert_well_formed(item: object) -> None:
    assert isinstance(item, RESULT_TYPES), type(item)
    if isinstance(item, MetricRecord):
        assert isinstance(item.value, float) and math.isfinite(item.value)
    if not isinstance(item, DamagedLine):
        assert item.observed_time.tzinfo is not None  # every record's time can be compared


@FUZZ
@given(line=st.binary(max_size=600))
@example(line=b"[" * 100_000)
@example(line=b'{"record":' * 50_000)
@example(line=b'{"appended_at":"x","record":{"envelope":{},"payload":{}},"sequence":1e999}')
def test_parse_line_never_raises_on_arbitrary_bytes(line: bytes) -> None:
    _assert_well_formed(parse_line(line, LOCATION))


@FUZZ
@given(line=st.sampled_from(SEGMENT_LINES).flatmap(fuzzed_lines))
def test_parse_line_never_raises_on_damaged_real_lines(line: bytes) -> None:
    item = parse_line(line, LOCATION)
    _assert_well_formed(item)
    if isinstance(item, MetricRecord):  # a record is only accepted with the value the line really holds
        payload = json.loads(line)["record"]["payload"]
        assert (item.key, item.value) == (payload["metric_key"], payload["value"])


# -- the reader -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Workspace]]:
    root = tmp_path_factory.mktemp("fuzz") / "latency"
    shutil.copytree(LATENCY, root)
    workspace = Workspace(root, lock_timeout=0)
    yield root, workspace
    workspace.close()


def _metric_check_passes(run: Any, key: str) -> bool:
    try:
        assert_metrics_present(run, key, stage="evaluate")
    except GateCheckFailed:
        return False
    return True


@pytest.mark.parametrize(("ref", "key", "number"), TARGETS, ids=[target[0] for target in TARGETS])
def test_fuzzed_candidate_line_never_passes_a_check_on_a_value_it_could_hold(
    fuzz_workspace: tuple[Path, Workspace], ref: str, key: str, number: int
) -> None:
    root, workspace = fuzz_workspace

    @FUZZ_FILES
    @given(line=fuzzed_lines(SEGMENT_LINES[number - 1]))
    def check(line: bytes) -> None:
        lines = list(SEGMENT_LINES)
        lines[number - 1] = line + b"\n"
        (root / SEGMENT).write_bytes(b"".join(lines))
        run = workspace.load_run(ref)
        if not _metric_check_passes(run, key):
            return
        # it passed: only a line that is itself a valid record of this metric may say so, with its own value
        item = parse_line(line, LOCATION)
        assert isinstance(item, MetricRecord), item
        assert (item.run_ref, item.key, item.stage_name) == (ref, key, "evaluate")
        assert find_metric(run, key, "evaluate").value == item.value

    try:
        check()
    finally:
        (root / SEGMENT).write_bytes(b"".join(SEGMENT_LINES))


# -- run refs -------------------------------------------------------------------------------------

ref_texts = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"(run|RUN|stage|Run|)(:)?[a-zA-Z0-9.\-/_ %\\]{0,40}", fullmatch=True),
    st.builds("run:{}.{}".format, st.text(max_size=20), st.text(max_size=20)),
    st.sampled_from(["faster", " faster ", "svc.faster", "run:svc.faster", "run:svc.faster ", "baseline"]),
)


@FUZZ
@given(text=ref_texts)
@example(text="run:../../x")
@example(text="run:svc.faster/../../../../etc")
def test_parse_run_ref_accepts_only_refs_that_stay_inside_the_index_folder(text: str) -> None:
    try:
        ref = parse_run_ref(text)
    except RefError:
        return
    assert parse_run_ref(ref.text) == ref
    family = Path("records") / "indexes" / "run_ref"
    index = family / f"run__{ref.value}.jsonl"
    assert Path(os.path.normpath(index)).parent == family
    assert os.sep not in ref.value and (os.altsep or os.sep) not in ref.value and ".." not in ref.value


@pytest.fixture(scope="module")
def latency() -> Iterator[Workspace]:
    workspace = Workspace(LATENCY, lock_timeout=0)
    yield workspace
    workspace.close()


def test_resolving_any_text_finds_a_real_run_or_says_why_not(latency: Workspace) -> None:
    known = {run.ref for run in latency.list_runs()}

    @FUZZ
    @given(text=ref_texts)
    @example(text="run:svc.faster")
    @example(text="svc.\nfaster")  # once echoed into a hint, making the message two lines
    def check(text: str) -> None:
        try:
            run = latency.load_run(text)
        except RunLookupError as exc:
            assert str(exc) and "\n" not in str(exc)
            return
        assert run.ref in known

    check()
