"""Conformance with the real Contexta library: the plugin's reader and diagnostics against Contexta's answers.

``tests/workspaces/generate.py`` wrote every workspace through Contexta's own API and recorded what
Contexta 1.0 answers about it in ``references/<workspace>.json``. Here every run of every workspace
is read with the plugin and compared field by field with those answers. A disagreement fails unless
it is one of the intended differences listed in ``docs/differences.md``; where one applies, the
plugin's value must be exactly what that table says. Each difference also has its own
``test_difference_*`` test that pins it on a concrete run.

``CONTEXTA_CONFORMANCE_DIR`` points the tests at another tree with the layout of ``tests/workspaces``
(``<workspace>/`` folders and ``references/``), e.g. the output of ``generate.py --check --out DIR``,
which is what ``.ci/conformance-check`` does.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from pytest_contexta.errors import RunLookupError
from pytest_contexta.reading.records import DegradedRecord, EventRecord, MetricRecord
from pytest_contexta.reading.rows import Batch, Deployment, Run, Stage
from pytest_contexta.runs.metrics import find_metric
from pytest_contexta.runs.models import ContextaRun
from pytest_contexta.runs.workspace import Workspace

REPOSITORY = Path(__file__).resolve().parents[2]
DIFFERENCES_DOC = REPOSITORY / "docs" / "differences.md"
CONFORMANCE_DIR_VARIABLE = "CONTEXTA_CONFORMANCE_DIR"
ROOT = Path(os.environ.get(CONFORMANCE_DIR_VARIABLE) or Path(__file__).parents[1] / "workspaces")


def _load_references(root: Path) -> dict[str, dict[str, Any]]:
    paths = sorted((root / "references").glob("*.json"))
    missing = [path.stem for path in paths if not (root / path.stem).is_dir()]
    if not paths or missing:
        pytest.fail(
            f"{root} is not a conformance tree: it needs references/<workspace>.json and a <workspace>/ folder "
            f"for each ({'no references' if not paths else 'missing ' + ', '.join(missing)}). "
            f"Point {CONFORMANCE_DIR_VARIABLE} at the output of tests/workspaces/generate.py --out DIR, "
            f"or unset it to use tests/workspaces",
            pytrace=False,
        )
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in paths}


REFERENCES = _load_references(ROOT)

# The intended differences of docs/differences.md, by the id in its first column.
DIFFERENCES = (
    "degraded-error-severity",
    "run-not-completed",
    "unreadable-record",
    "latest-by-real-time",
    "ambiguous-bare-name",
    "record-on-unknown-stage",
    "stage-must-be-completed",
    "run-level-metric",
    "sliced-metrics",
    "payload-null-keys",
    "null-order-index",
    "integer-metric-value",
    "record-tags",
    "completeness-notes",
    "unexposed-fields",
    "incomplete-values",
    "ambiguous-sequence",
)

# unexposed-fields: Contexta fields the plugin has no attribute for, and the only values Contexta gives them.
EMPTY = ("always {}", lambda value: value == {})
UNEXPOSED = {
    "run": {"tags": EMPTY, "metadata": EMPTY},
    "stage": {"tags": EMPTY, "metadata": EMPTY},
    "batch": {"metadata": EMPTY},
    "deployment": {"metadata": EMPTY},
    "record": {
        "schema_version": ("a 1.x version", lambda value: isinstance(value, str) and value.startswith("1.")),
        "correlation_id": ("always null (no trace or session ids are recorded)", lambda value: value is None),
    },
}

# completeness-notes: notes about planes the plugin does not read (samples, artifacts, relations, provenance).
NOTES_NOT_READ = {"sample_list_empty", "artifact_list_empty", "relation_scope_empty", "provenance_missing"}


def implied_notes(run: ContextaRun) -> list[str]:
    """The completeness notes Contexta derives from stages, deployments, batches and records, from the plugin's view."""
    notes = [
        note
        for note, applies in [
            ("stage_list_empty", not run.stages),
            ("deployment_list_empty", not run.deployments),
            ("batch_list_empty", bool(run.stages) and not run.batches),
            ("record_scope_empty", not run.records),
        ]
        if applies
    ]
    return notes + [
        f"missing_stage_records:{stage.name}"
        for stage in run.stages
        if not any(record.stage_ref == stage.ref for record in run.records)
    ]


class Documented(NamedTuple):
    """The plugin's ``value`` for a field where a documented difference applies.

    ``holds(contexta_value)`` is true when the plugin's and Contexta's values are exactly what that
    row of docs/differences.md says (it is checked even when the two happen to be equal).
    """

    value: Any
    difference: str
    holds: Callable[[Any], bool]


# -- reading the references and the plugin's view --------------------------------------------------


class Plugin:
    """The plugin's view of the conformance tree: each workspace opened once, each run loaded once."""

    def __init__(self) -> None:
        self._workspaces: dict[str, Workspace] = {}
        self._runs: dict[tuple[str, str], ContextaRun] = {}

    def workspace(self, name: str) -> Workspace:
        if name not in self._workspaces:
            self._workspaces[name] = Workspace(ROOT / name)
        return self._workspaces[name]

    def run(self, name: str, run_ref: str) -> ContextaRun:
        if (name, run_ref) not in self._runs:
            self._runs[name, run_ref] = self.workspace(name).load_run(run_ref)
        return self._runs[name, run_ref]

    def close(self) -> None:
        for workspace in self._workspaces.values():
            workspace.close()


@pytest.fixture(scope="module")
def plugin() -> Iterator[Plugin]:
    opened = Plugin()
    yield opened
    opened.close()


def snapshot(workspace: str, run_ref: str) -> dict[str, Any]:
    """Contexta's ``get_run_snapshot`` answer for a run (a Contexta error fails the calling test)."""
    answer = REFERENCES[workspace]["runs"][run_ref]["snapshot"]
    assert "error" not in answer, f"Contexta could not read {run_ref}: {answer.get('error')}; the plugin could"
    return answer


def contexta_record(workspace: str, run_ref: str, record_ref: str) -> dict[str, Any]:
    return next(r for r in snapshot(workspace, run_ref)["records"] if r["record_id"] == record_ref)


def real_time(text: str) -> datetime:
    """An ISO timestamp as an aware datetime, without the plugin's parser."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def latest_by_string(candidates: list[dict[str, Any]]) -> dict[str, Any]:
    """Contexta's "latest": greatest ``observed_at`` as a string, ties to the later append."""
    return max(enumerate(candidates), key=lambda pair: (pair[1]["observed_at"], pair[0]))[1]


def latest_by_time(candidates: list[dict[str, Any]]) -> dict[str, Any]:
    """The documented plugin "latest": greatest ``observed_at`` as a real time, ties to the later append."""
    return max(enumerate(candidates), key=lambda pair: (real_time(pair[1]["observed_at"]), pair[0]))[1]


def metric_records(workspace: str, run_ref: str, key: str, stage_id: str | None) -> list[dict[str, Any]]:
    """Contexta's metric records of ``key`` in one stage ref (None: run level), in append order."""
    return [
        record
        for record in snapshot(workspace, run_ref)["records"]
        if record["record_type"] == "metric" and record["key"] == key and record["stage_id"] == stage_id
    ]


def overall_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """sliced-metrics: the metric records without a ``slice_ref``, the only ones the plugin's lookup uses."""
    return [record for record in records if record["payload"]["slice_ref"] is None]


def _comparisons() -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every ``compare_runs`` answer by (workspace, left, right)."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for workspace, reference in REFERENCES.items():
        for run_ref, entry in reference["runs"].items():
            if "compare" in entry:
                found.setdefault((workspace, entry["compare"]["left"], run_ref), entry["compare"]["result"])
        for extra in reference["extra_comparisons"]:
            found.setdefault((workspace, extra["left"], extra["right"]), extra["result"])
    return found


COMPARED = _comparisons()


def compare_answer(workspace: str, left: str, right: str) -> dict[str, Any]:
    return COMPARED[workspace, left, right]


def compared_stage(answer: dict[str, Any], stage_name: str) -> dict[str, Any]:
    return next(stage for stage in answer["stage_comparisons"] if stage["stage_name"] == stage_name)


def compared_metric(answer: dict[str, Any], stage_name: str, key: str) -> dict[str, Any]:
    return next(d for d in compared_stage(answer, stage_name)["metric_deltas"] if d["metric_key"] == key)


# -- field-by-field comparison -------------------------------------------------------------------


def _same(contexta: Any, ours: Any) -> bool:
    return contexta == ours and type(contexta) is type(ours)


def field_differences(label: str, kind: str, contexta: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """Every way ``ours`` (Contexta's field names → the plugin's values) disagrees with ``contexta``."""
    problems = []
    unexposed = UNEXPOSED.get(kind, {})
    for name in sorted(set(contexta) - set(ours) - set(unexposed)):
        problems.append(
            f"{label}: Contexta reports {name}={contexta[name]!r}, which this test does not compare; "
            f"map it to the plugin or document it in docs/differences.md"
        )
    for name, (allowed, accepts) in unexposed.items():
        if name in contexta and not accepts(contexta[name]):
            problems.append(
                f"{label}.{name}: Contexta says {contexta[name]!r}; the plugin does not expose {name}, "
                f"which docs/differences.md (unexposed-fields) allows only while it is {allowed}"
            )
    for name, value in ours.items():
        if name not in contexta:
            problems.append(f"{label}: Contexta has no field {name!r} any more")
            continue
        theirs = contexta[name]
        if isinstance(value, Documented):
            assert value.difference in DIFFERENCES, value.difference
            if not value.holds(theirs):
                problems.append(
                    f"{label}.{name}: plugin {value.value!r}, Contexta {theirs!r}, which is not what "
                    f"docs/differences.md says ({value.difference})"
                )
        elif not _same(theirs, value):
            problems.append(f"{label}.{name}: plugin {value!r}, Contexta {theirs!r} (not a documented difference)")
    return problems


def order_of(order_index: int | None) -> Any:
    """null-order-index: Contexta reports a NULL ``order_index`` as 0; the plugin keeps None."""
    return Documented(None, "null-order-index", lambda theirs: _same(theirs, 0)) if order_index is None else order_index


def run_fields(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.ref,
        "project_name": run.project_ref.removeprefix("project:"),
        "name": run.name,
        "status": run.status,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
    }


def stage_fields(stage: Stage) -> dict[str, Any]:
    return {
        "stage_id": stage.ref,
        "run_id": stage.run_ref,
        "name": stage.name,
        "status": stage.status,
        "order": order_of(stage.order_index),
        "started_at": stage.started_at,
        "ended_at": stage.ended_at,
    }


def batch_fields(batch: Batch) -> dict[str, Any]:
    return {
        "batch_id": batch.ref,
        "run_id": batch.run_ref,
        "stage_id": batch.stage_ref,
        "name": batch.name,
        "status": batch.status,
        "order": order_of(batch.order_index),
        "started_at": batch.started_at,
        "ended_at": batch.ended_at,
    }


def deployment_fields(deployment: Deployment) -> dict[str, Any]:
    return {
        "deployment_id": deployment.ref,
        "project_name": deployment.project_ref.removeprefix("project:"),
        "name": deployment.name,
        "status": deployment.status,
        "run_id": deployment.run_ref,
        "artifact_ref": deployment.artifact_ref,
        "order": order_of(deployment.order_index),
        "started_at": deployment.started_at,
        "ended_at": deployment.ended_at,
    }


def record_fields(record: Any) -> dict[str, Any]:
    """A plugin record in the shape of Contexta's snapshot ``ObservationRecord``."""
    fields = {
        "record_id": record.ref,
        "run_id": record.run_ref,
        "stage_id": record.stage_ref,
        "record_type": record.record_type,
        "key": record.key,
        "observed_at": record.observed_at,
        "completeness_marker": record.completeness_marker,
        "degradation_marker": record.degradation_marker,
        "producer_ref": record.producer_ref,
        "value": None,
        "message": None,
        "unit": None,
        "tags": {},
        # payload-null-keys: Contexta adds every optional payload key, null when unset.
        "payload": Documented(
            record.payload,
            "payload-null-keys",
            lambda theirs: (
                None not in record.payload.values()
                and {k: v for k, v in theirs.items() if v is not None} == record.payload
            ),
        ),
    }
    if isinstance(record, MetricRecord):
        stored = record.payload["value"]
        # integer-metric-value: Contexta keeps the stored int; the plugin's value is always a float.
        fields["value"] = (
            Documented(
                record.value,
                "integer-metric-value",
                lambda theirs: _same(theirs, stored) and _same(record.value, float(stored)),
            )
            if isinstance(stored, int)
            else record.value
        )
        fields["unit"] = record.unit
        # record-tags: Contexta's record tags are the (absent) envelope tags; the plugin's are the metric's.
        fields["tags"] = Documented(
            record.tags, "record-tags", lambda theirs: theirs == {} and record.tags == record.payload.get("tags", {})
        )
    elif isinstance(record, EventRecord):
        fields["message"] = record.message
    elif isinstance(record, DegradedRecord):
        fields["message"] = record.summary
    return fields


def listed_in_order(label: str, contexta: list[dict[str, Any]], id_field: str, ours: list[Any]) -> None:
    assert [item.ref for item in ours] == [item[id_field] for item in contexta], f"{label} are not in Contexta's order"


def section_differences(
    workspace: str,
    run_ref: str,
    section: str,
    id_field: str,
    kind: str,
    ours: Sequence[Any],
    fields: Callable[[Any], dict[str, Any]],
) -> list[str]:
    """Assert ``ours`` lists the snapshot's ``section`` in Contexta's order; return every field that differs."""
    expected = snapshot(workspace, run_ref)[section]
    listed_in_order(section, expected, id_field, list(ours))
    return [
        p
        for item, theirs in zip(ours, expected, strict=True)
        for p in field_differences(item.ref, kind, theirs, fields(item))
    ]


# -- parametrization: one case per run, per workspace, per comparison ------------------------------


def _id(workspace: str, run_ref: str) -> str:
    return f"{workspace}/{run_ref.removeprefix('run:')}"


RUNS = [pytest.param(ws, run_ref, id=_id(ws, run_ref)) for ws, ref in REFERENCES.items() for run_ref in ref["runs"]]
WORKSPACE_NAMES = sorted(REFERENCES)
BARE_NAMES = [
    pytest.param(ws, name, id=f"{ws}/{name!r}") for ws, ref in REFERENCES.items() for name in ref["bare_names"]
]
COMPARISONS = [
    pytest.param(ws, left, right, id=f"{_id(ws, left)}-vs-{right.removeprefix('run:')}") for ws, left, right in COMPARED
]


def _metrics_outside_stages() -> Iterator[tuple[str, str, str, str | None]]:
    """(workspace, run, key, stage ref) of metrics at run level (None) or on a stage ref with no ledger row."""
    for ws, reference in REFERENCES.items():
        for run_ref, entry in reference["runs"].items():
            if "error" in entry["snapshot"]:
                continue
            stage_ids = {stage["stage_id"] for stage in entry["snapshot"]["stages"]}
            for record in entry["snapshot"]["records"]:
                if record["record_type"] == "metric" and record["stage_id"] not in stage_ids:
                    yield ws, run_ref, record["key"], record["stage_id"]


OUTSIDE = sorted(set(_metrics_outside_stages()), key=str)
RUN_LEVEL = [pytest.param(ws, run, key, id=f"{_id(ws, run)}/{key}") for ws, run, key, stage in OUTSIDE if stage is None]
UNKNOWN_STAGE = [
    pytest.param(ws, run, key, stage, id=f"{_id(ws, run)}/{stage.rpartition('.')[2]}/{key}")
    for ws, run, key, stage in OUTSIDE
    if stage is not None
]


# -- per run -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("workspace", "run_ref"), RUNS)
def test_run_row(plugin: Plugin, workspace: str, run_ref: str) -> None:
    run = plugin.run(workspace, run_ref)
    assert not field_differences(run_ref, "run", snapshot(workspace, run_ref)["run"], run_fields(run.run))


@pytest.mark.parametrize(("workspace", "run_ref"), RUNS)
def test_stages(plugin: Plugin, workspace: str, run_ref: str) -> None:
    run = plugin.run(workspace, run_ref)
    assert not section_differences(workspace, run_ref, "stages", "stage_id", "stage", run.stages, stage_fields)


@pytest.mark.parametrize(("workspace", "run_ref"), RUNS)
def test_batches(plugin: Plugin, workspace: str, run_ref: str) -> None:
    run = plugin.run(workspace, run_ref)
    assert not section_differences(workspace, run_ref, "batches", "batch_id", "batch", run.batches, batch_fields)


@pytest.mark.parametrize(("workspace", "run_ref"), RUNS)
def test_deployments(plugin: Plugin, workspace: str, run_ref: str) -> None:
    run = plugin.run(workspace, run_ref)
    assert not section_differences(
        workspace, run_ref, "deployments", "deployment_id", "deployment", run.deployments, deployment_fields
    )


@pytest.mark.parametrize(("workspace", "run_ref"), RUNS)
def test_records(plugin: Plugin, workspace: str, run_ref: str) -> None:
    run = plugin.run(workspace, run_ref)
    assert not run.damaged and not run.reader_notes, "Contexta read every line of this run; the plugin must too"
    assert not section_differences(workspace, run_ref, "records", "record_id", "record", run.records, record_fields)


@pytest.mark.parametrize(("workspace", "run_ref"), RUNS)
def test_diagnostics(plugin: Plugin, workspace: str, run_ref: str) -> None:
    """Contexta's issues in Contexta's order, then the plugin's own; severities as documented."""
    run = plugin.run(workspace, run_ref)
    expected = REFERENCES[workspace]["runs"][run_ref]["diagnose"]["issues"]
    shared, own = list(run.diagnostics[: len(expected)]), list(run.diagnostics[len(expected) :])
    problems = []
    for ours, theirs in zip(shared, expected, strict=False):
        label = f"{theirs['code']} on {theirs['subject_ref']}"
        severity: Any = ours.severity
        if theirs["code"] == "degraded_record":
            record = contexta_record(workspace, run_ref, theirs["subject_ref"])
            own_error = record["record_type"] == "degraded" and record["payload"]["severity"] == "error"
            severity = Documented(
                ours.severity,
                "degraded-error-severity",
                lambda s, own_error=own_error, plugin_says=ours.severity: (
                    s == "warning" and plugin_says == ("error" if own_error else "warning")
                ),
            )
        problems += field_differences(
            label,
            "issue",
            theirs,
            {
                "code": ours.code,
                "severity": severity,
                "summary": ours.summary,
                "details": ours.details,
                "subject_ref": ours.subject_ref,
            },
        )
        if ours.contexta_severity != theirs["severity"]:
            problems.append(f"{label}: contexta_severity {ours.contexta_severity!r}, Contexta {theirs['severity']!r}")
    assert len(shared) == len(expected), f"Contexta reports {len(expected)} issues, the plugin {len(shared)}"
    # run-not-completed: the plugin's only own issue on a run Contexta can read, after Contexta's.
    status = snapshot(workspace, run_ref)["run"]["status"]
    wanted = [] if status == "completed" else [("run_not_completed", "error", None, run_ref, {"status": status})]
    assert [(d.code, d.severity, d.contexta_severity, d.subject_ref, d.details) for d in own] == wanted
    assert not problems


@pytest.mark.parametrize(("workspace", "run_ref"), RUNS)
def test_completeness_notes(plugin: Plugin, workspace: str, run_ref: str) -> None:
    """Contexta's completeness notes about data the plugin reads are the ones the plugin's view implies."""
    notes = snapshot(workspace, run_ref)["completeness_notes"]
    about_read_data = [note for note in notes if note not in NOTES_NOT_READ]
    assert sorted(about_read_data) == sorted(implied_notes(plugin.run(workspace, run_ref)))


# -- per workspace -------------------------------------------------------------------------------


@pytest.mark.parametrize("workspace", WORKSPACE_NAMES)
def test_list_runs(plugin: Plugin, workspace: str) -> None:
    assert [run.ref for run in plugin.workspace(workspace).list_runs()] == REFERENCES[workspace]["list_runs"]


@pytest.mark.parametrize("workspace", WORKSPACE_NAMES)
def test_list_deployments(plugin: Plugin, workspace: str) -> None:
    listed = [deployment.ref for deployment in plugin.workspace(workspace).list_deployments()]
    assert listed == REFERENCES[workspace]["list_deployments"]


@pytest.mark.parametrize(("workspace", "name"), BARE_NAMES)
def test_bare_name(plugin: Plugin, workspace: str, name: str) -> None:
    """A name Contexta resolves names the same run; a name it cannot resolve is an error for the plugin too."""
    answer = REFERENCES[workspace]["bare_names"][name]
    matches = [ref for ref in REFERENCES[workspace]["list_runs"] if ref.endswith("." + name.strip())]
    if "run_id" in answer:
        assert plugin.workspace(workspace).resolve_run(name).text == answer["run_id"]
        return
    assert answer["error"]["code"] == "query_run_not_found"
    with pytest.raises(RunLookupError) as raised:
        plugin.workspace(workspace).resolve_run(name)
    message = str(raised.value)
    if len(matches) > 1:  # ambiguous-bare-name
        assert "ambiguous" in message and all(ref in message for ref in matches), message
    else:
        assert name.strip() in message


# -- compare_runs against find_metric ----------------------------------------------------------------


def compared_value_problem(
    plugin: Plugin, workspace: str, run_ref: str, stage: dict[str, Any], side: str, delta: dict[str, Any]
) -> str | None:
    """Why ``find_metric`` on one side disagrees with Contexta's compared value, or None."""
    name, key, theirs = stage["stage_name"], delta["metric_key"], delta[f"{side}_value"]
    stage_id, status = stage[f"{side}_stage_id"], stage[f"{side}_status"]
    found = find_metric(plugin.run(workspace, run_ref), key, name, accept_incomplete=True)  # Contexta uses them
    label = f"{run_ref} {name}/{key}: Contexta {theirs!r}, plugin {found.value!r} ({found.problem})"
    candidates = [] if stage_id is None else metric_records(workspace, run_ref, key, stage_id)
    if not candidates:
        expected_problem = "the run has no stage" if stage_id is None else f"not recorded in stage {name!r}"
        ok = theirs is None and found.record is None and found.problem.startswith(expected_problem)
        return None if ok else label
    if float(latest_by_string(candidates)["value"]) != theirs:
        return f"{label}: Contexta's value is not its string-latest record; docs/differences.md needs re-checking"
    # sliced-metrics: Contexta's latest may be a slice's value; the plugin takes only records without slice_ref.
    overall = overall_records(candidates)
    if not overall:
        slices = ", ".join(sorted({record["payload"]["slice_ref"] for record in candidates}))
        expected_problem = f"only recorded per slice ({slices}) in stage {name!r}; the overall value is missing"
        ok = found.record is None and found.problem.startswith(expected_problem)
        return None if ok else f"{label}: expected the documented sliced-metrics problem"
    if status != "completed":  # stage-must-be-completed
        ok = found.record is None and found.problem == f"stage {name!r} is {status}, so its metrics do not count"
        return None if ok else f"{label}: expected the documented stage-must-be-completed problem"
    # latest-by-real-time: where string and real-time order disagree, the plugin takes the real latest.
    chosen = latest_by_time(overall)
    if found.record is None or found.record.ref != chosen["record_id"] or found.value != float(chosen["value"]):
        return f"{label}: expected {chosen['record_id']} (value {chosen['value']!r})"
    return None


@pytest.mark.parametrize(("workspace", "left", "right"), COMPARISONS)
def test_compare(plugin: Plugin, workspace: str, left: str, right: str) -> None:
    """Every value ``compare_runs`` compared is what ``find_metric`` selects in that stage, or documented."""
    answer = compare_answer(workspace, left, right)
    if "error" in answer:
        absent = [ref for ref in (left, right) if ref not in REFERENCES[workspace]["list_runs"]]
        assert absent, f"Contexta could not compare two existing runs: {answer['error']}"
        for ref in absent:
            with pytest.raises(RunLookupError, match="is not in workspace"):
                plugin.workspace(workspace).load_run(ref)
        return
    problems = [
        problem
        for stage in answer["stage_comparisons"]
        for delta in stage["metric_deltas"]
        for side, run_ref in (("left", left), ("right", right))
        if (problem := compared_value_problem(plugin, workspace, run_ref, stage, side, delta))
    ]
    for side, run_ref in (("left", left), ("right", right)):
        names = {stage.name for stage in plugin.run(workspace, run_ref).stages}
        assert names == {s["stage_name"] for s in answer["stage_comparisons"] if s[f"{side}_stage_id"]}
    assert not problems


@pytest.mark.parametrize(("workspace", "run_ref", "key"), RUN_LEVEL)
def test_run_level_metric_lookup(plugin: Plugin, workspace: str, run_ref: str, key: str) -> None:
    """run-level-metric: with no stage, the run-level value is chosen (Contexta's compare never shows it)."""
    found = find_metric(plugin.run(workspace, run_ref), key)
    chosen = latest_by_time(overall_records(metric_records(workspace, run_ref, key, None)))
    assert found.record is not None and found.record.ref == chosen["record_id"], found.problem
    assert found.scope == "run level"


@pytest.mark.parametrize(("workspace", "run_ref", "key", "stage_id"), UNKNOWN_STAGE)
def test_metric_on_unknown_stage(plugin: Plugin, workspace: str, run_ref: str, key: str, stage_id: str) -> None:
    """record-on-unknown-stage: compare never sees the record; the stage-scoped lookup refuses it with a reason."""
    stage = stage_id.rpartition(".")[2]
    found = find_metric(plugin.run(workspace, run_ref), key, stage)
    assert found.record is None
    assert found.problem.startswith(
        f"the run has no stage {stage!r} (records name it, but the stage was never recorded in the ledger)"
    ), found.problem
    for (ws, left, right), answer in COMPARED.items():
        for side, ref in (("left", left), ("right", right)):
            if ws == workspace and ref == run_ref and "error" not in answer:
                assert all(s[f"{side}_stage_id"] != stage_id for s in answer["stage_comparisons"])


# -- one pinned example per documented difference -------------------------------------------------


def test_difference_degraded_error_severity(plugin: Plugin) -> None:
    ws, ref, record_ref = "conformance", "run:shop-ranker.failed-run", "record:shop-ranker.failed-run.r0003"
    assert contexta_record(ws, ref, record_ref)["payload"]["severity"] == "error"
    issue = next(i for i in REFERENCES[ws]["runs"][ref]["diagnose"]["issues"] if i["subject_ref"] == record_ref)
    ours = next(d for d in plugin.run(ws, ref).diagnostics if d.subject_ref == record_ref)
    assert (issue["code"], issue["severity"]) == ("degraded_record", "warning")
    assert (ours.code, ours.severity, ours.contexta_severity) == ("degraded_record", "error", "warning")


@pytest.mark.parametrize("name", ["failed-run", "cancelled-run", "open-run"])
def test_difference_run_not_completed(plugin: Plugin, name: str) -> None:
    ws, ref = "conformance", f"run:shop-ranker.{name}"
    status = snapshot(ws, ref)["run"]["status"]
    assert status != "completed"
    issues = REFERENCES[ws]["runs"][ref]["diagnose"]["issues"]
    assert {issue["code"] for issue in issues if issue["subject_ref"] == ref} <= {"missing_expected_stage"}
    last = plugin.run(ws, ref).diagnostics[-1]
    assert (last.code, last.severity, last.contexta_severity) == ("run_not_completed", "error", None)
    assert last.summary == f"run {name} is {status}, not completed"


def test_difference_unreadable_record(workspace_copy: Callable[[str], Path]) -> None:
    """A NaN metric value: Contexta fails every run of the workspace; the plugin flags just that line."""
    root = workspace_copy("conformance")
    segment = root / "records" / "segments" / "segment-000001.jsonl"
    lines = segment.read_bytes().splitlines(keepends=True)
    number = next(n for n, line in enumerate(lines, 1) if b'"record_ref":"record:shop-ranker.candidate.r0003"' in line)
    assert b'"value":0.91,' in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(b'"value":0.91,', b'"value":NaN,')
    segment.write_bytes(b"".join(lines))
    workspace = Workspace(root)
    try:
        damaged, other = workspace.load_run("run:shop-ranker.candidate"), workspace.load_run("run:fraud-model.baseline")
    finally:
        workspace.close()
    unreadable = [d for d in damaged.diagnostics if d.code == "unreadable_record"]
    assert [(d.severity, d.contexta_severity, d.details["line"]) for d in unreadable] == [("error", None, number)]
    assert "metric value is not finite (nan)" in unreadable[0].summary
    assert "record:shop-ranker.candidate.r0003" not in {r.ref for r in damaged.records}
    lookup = find_metric(damaged, "accuracy", "evaluate")
    assert lookup.record is None and lookup.problem.startswith("a damaged record that may hold it")
    assert not other.damaged and "unreadable_record" not in {d.code for d in other.diagnostics}


def test_difference_latest_by_real_time(plugin: Plugin) -> None:
    ws, ref = "conformance", "run:shop-ranker.candidate"
    answer = compare_answer(ws, "run:shop-ranker.baseline", ref)
    run = plugin.run(ws, ref)
    for key, contexta_value, plugin_value in [("accuracy", 0.91, 0.93), ("auc", 0.94, 0.95)]:
        assert compared_metric(answer, "evaluate", key)["right_value"] == contexta_value
        assert find_metric(run, key, "evaluate").value == plugin_value
    assert compared_metric(answer, "evaluate", "f1")["right_value"] == find_metric(run, "f1", "evaluate").value == 0.82


def test_difference_ambiguous_bare_name(plugin: Plugin) -> None:
    assert REFERENCES["conformance"]["bare_names"]["baseline"]["error"]["message"] == "Run anchor was not found."
    with pytest.raises(RunLookupError, match="ambiguous") as raised:
        plugin.workspace("conformance").resolve_run("baseline")
    assert "run:fraud-model.baseline, run:shop-ranker.baseline; pass the full ref" in str(raised.value)


def test_difference_record_on_unknown_stage(plugin: Plugin) -> None:
    ws, ref = "conformance", "run:shop-ranker.candidate"
    on_typo = metric_records(ws, ref, "accuracy", "stage:shop-ranker.candidate.evaluat")
    assert [r["value"] for r in on_typo] == [0.99]
    answer = compare_answer(ws, "run:shop-ranker.baseline", ref)
    assert "evaluat" not in {stage["stage_name"] for stage in answer["stage_comparisons"]}
    run = plugin.run(ws, ref)
    assert on_typo[0]["record_id"] in {record.ref for record in run.records}
    assert "never recorded in the ledger" in find_metric(run, "accuracy", "evaluat").problem
    assert (
        find_metric(run, "accuracy").problem
        == "recorded in several stages (evaluat, evaluate); pass stage= to choose one"
    )


def test_difference_stage_must_be_completed(plugin: Plugin) -> None:
    ws = "conformance"
    answer = compare_answer(ws, "run:shop-ranker.open-run", "run:shop-ranker.failed-run")
    assert compared_stage(answer, "evaluate")["right_status"] == "failed"
    assert compared_metric(answer, "evaluate", "accuracy")["right_value"] == 0.5
    assert compared_stage(answer, "train")["left_status"] == "open"
    assert compared_metric(answer, "train", "loss")["left_value"] == 0.6
    for stage in ("evaluate", None):  # named, or the only stage that logged the key
        failed = find_metric(plugin.run(ws, "run:shop-ranker.failed-run"), "accuracy", stage)
        still_open = find_metric(plugin.run(ws, "run:shop-ranker.open-run"), "loss", stage and "train")
        assert (failed.value, failed.problem) == (None, "stage 'evaluate' is failed, so its metrics do not count")
        assert (still_open.value, still_open.problem) == (None, "stage 'train' is open, so its metrics do not count")


def test_difference_run_level_metric(plugin: Plugin) -> None:
    ws, ref = "conformance", "run:fraud-model.retrain"
    assert [r["value"] for r in metric_records(ws, ref, "loss", None)] == [0.3]
    answer = compare_answer(ws, "run:fraud-model.baseline", ref)
    assert compared_metric(answer, "train", "loss")["right_value"] == 0.31
    run = plugin.run(ws, ref)
    assert (find_metric(run, "loss").value, find_metric(run, "loss").scope) == (0.3, "run level")
    assert (find_metric(run, "loss", "train").value, find_metric(run, "loss", "train").scope) == (0.31, "train")


def test_difference_sliced_metrics(plugin: Plugin) -> None:
    ws, ref = "conformance", "run:fraud-model.retrain"
    recalls = metric_records(ws, ref, "recall", "stage:fraud-model.retrain.evaluate")
    assert [(r["value"], r["payload"]["slice_ref"], r["observed_at"]) for r in recalls] == [
        (0.81, None, "2025-03-12T11:00:00Z"),
        (0.74, "segment.card_present", "2025-03-12T11:00:00Z"),
    ]
    answer = compare_answer(ws, "run:fraud-model.baseline", ref)
    assert compared_metric(answer, "evaluate", "recall")["right_value"] == 0.74
    run = plugin.run(ws, ref)
    for found in (find_metric(run, "recall", "evaluate"), find_metric(run, "recall")):
        assert found.record is not None and (found.record.ref, found.value) == (recalls[0]["record_id"], 0.81)
    sliced = find_metric(run, "recall", "evaluate", slice="segment.card_present")
    assert sliced.record is not None and (sliced.record.ref, sliced.value) == (recalls[1]["record_id"], 0.74)
    unsliced_baseline = find_metric(
        plugin.run(ws, "run:fraud-model.baseline"), "recall", "evaluate", slice="segment.card_present"
    )
    assert (unsliced_baseline.value, unsliced_baseline.problem) == (
        None,
        "not recorded for slice 'segment.card_present' in stage 'evaluate'; recorded overall",
    )


def test_difference_payload_null_keys(plugin: Plugin) -> None:
    ws, ref, record_ref = "conformance", "run:shop-ranker.baseline", "record:shop-ranker.baseline.r0002"
    theirs = contexta_record(ws, ref, record_ref)["payload"]
    ours = next(r for r in plugin.run(ws, ref).records if r.ref == record_ref).payload
    assert {k for k, v in theirs.items() if v is None} == {"slice_ref", "subject_ref", "summary_basis", "unit"}
    assert ours == {
        "aggregation_scope": "step",
        "metric_key": "loss",
        "tags": {},
        "value": 0.52,
        "value_type": "float64",
    }
    assert ours == {k: v for k, v in theirs.items() if v is not None}


def test_difference_null_order_index(plugin: Plugin) -> None:
    ws, ref = "conformance", "run:shop-ranker.cancelled-run"
    theirs = [(s["name"], s["order"]) for s in snapshot(ws, ref)["stages"]]
    ours = [(s.name, s.order_index) for s in plugin.run(ws, ref).stages]
    assert (theirs, ours) == ([("train", 0), ("prepare", 0)], [("train", 0), ("prepare", None)])


def test_difference_integer_metric_value(plugin: Plugin) -> None:
    ws, ref, record_ref = "conformance", "run:shop-ranker.baseline", "record:shop-ranker.baseline.r0007"
    theirs = contexta_record(ws, ref, record_ref)
    ours = next(r for r in plugin.run(ws, ref).records if r.ref == record_ref)
    assert type(theirs["value"]) is int and theirs["value"] == 120000
    assert type(ours.value) is float and ours.value == 120000.0
    assert type(ours.payload["value"]) is int
    assert (
        compared_metric(compare_answer(ws, ref, "run:shop-ranker.candidate"), "evaluate", "row-count")["left_value"]
        == 120000.0
    )


def test_difference_record_tags(plugin: Plugin) -> None:
    ws, ref, record_ref = "conformance", "run:shop-ranker.baseline", "record:shop-ranker.baseline.r0004"
    theirs = contexta_record(ws, ref, record_ref)
    ours = next(r for r in plugin.run(ws, ref).records if r.ref == record_ref)
    assert (theirs["tags"], theirs["payload"]["tags"]) == ({}, {"split": "test"})
    assert isinstance(ours, MetricRecord) and ours.tags == {"split": "test"}


def test_difference_completeness_notes(plugin: Plugin) -> None:
    ws, ref = "conformance", "run:shop-ranker.no-stages"
    notes = REFERENCES[ws]["runs"][ref]["diagnose"]["completeness_notes"]
    assert {n["summary"] for n in notes} >= {"stage_list_empty", "record_scope_empty", "provenance_missing"}
    run = plugin.run(ws, ref)
    assert not run.stages and not run.records and not run.reader_notes
    assert not {d.code for d in run.diagnostics} & {n["summary"] for n in notes}


def test_difference_unexposed_fields() -> None:
    for model, kind in [
        (Run, "run"),
        (Stage, "stage"),
        (Batch, "batch"),
        (Deployment, "deployment"),
        (MetricRecord, "record"),
        (EventRecord, "record"),
        (DegradedRecord, "record"),
    ]:
        assert not set(UNEXPOSED[kind]) & set(model.model_fields), model
    seen = {kind: set() for kind in UNEXPOSED}
    for reference in REFERENCES.values():
        for entry in reference["runs"].values():
            taken = entry["snapshot"]
            for kind, items in [
                ("run", [taken["run"]]),
                ("stage", taken["stages"]),
                ("batch", taken["batches"]),
                ("deployment", taken["deployments"]),
                ("record", taken["records"]),
            ]:
                for item in items:
                    for name, (_, accepts) in UNEXPOSED[kind].items():
                        assert accepts(item[name]), (kind, name, item[name])
                        seen[kind].add(name)
    assert seen == {kind: set(fields) for kind, fields in UNEXPOSED.items()}


def test_difference_incomplete_values(plugin: Plugin) -> None:
    ws, ref = "conformance", "run:shop-ranker.candidate"
    (record,) = metric_records(ws, ref, "coverage", "stage:shop-ranker.candidate.evaluate")
    assert (record["completeness_marker"], record["degradation_marker"]) == ("partial", "partial_failure")
    assert (
        compared_metric(compare_answer(ws, "run:shop-ranker.baseline", ref), "evaluate", "coverage")["right_value"]
        == 0.97
    )
    run = plugin.run(ws, ref)
    refused = find_metric(run, "coverage", "evaluate")
    assert refused.value is None and "is marked completeness 'partial' and degradation 'partial_failure'" in (
        refused.problem or ""
    )
    accepted = find_metric(run, "coverage", "evaluate", accept_incomplete=True)
    assert (accepted.value, accepted.source) == (
        0.97,
        "evaluate, completeness 'partial' and degradation 'partial_failure' accepted",
    )


# -- the documented table and these tests agree ----------------------------------------------------


def documented_rows() -> list[tuple[str, str]]:
    """(difference id, pinning test) of each row of the table in docs/differences.md."""
    rows = []
    for line in DIFFERENCES_DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(
            r"\|\s*`([a-z-]+)`\s*\|.*`tests/reading/test_conformance\.py::(test_[a-z_]+)`[^|]*\|\s*$", line
        )
        if match:
            rows.append((match.group(1), match.group(2)))
    return rows


def test_difference_ambiguous_sequence() -> None:
    """``restarted`` (written by Contexta, no reference answers): after a re-created manifest the run's second
    accuracy (0.5) reuses sequence 1 with the same observed_at as the first (0.91, sequence 4). Contexta lists
    both and its latest is the later append; the gate keeps both and refuses to choose."""
    workspace = Workspace(ROOT / "restarted", lock_timeout=0)
    try:
        run = workspace.load_run("run:seq.reused")
    finally:
        workspace.close()
    accuracy = [(m.value, m.sequence, m.observed_at) for m in run.metrics if m.key == "accuracy"]
    assert accuracy == [(0.91, 4, "2025-05-02T11:00:00Z"), (0.5, 1, "2025-05-02T11:00:00Z")]
    (ambiguous,) = run.damaged
    assert "so which value is the latest is ambiguous" in ambiguous.reason
    assert find_metric(run, "accuracy", "evaluate").problem == (
        f"a damaged record that may hold it ({ambiguous.location})"
    )


def test_documented_differences_are_the_pinned_ones() -> None:
    rows = documented_rows()
    assert [difference for difference, _ in rows] == list(DIFFERENCES)
    for difference, test_name in rows:
        assert test_name == "test_difference_" + difference.replace("-", "_")
        assert callable(globals().get(test_name)), f"docs/differences.md names {test_name}, which does not exist"
    pinned = {name for name in globals() if name.startswith("test_difference_")}
    assert pinned == {test_name for _, test_name in rows}
