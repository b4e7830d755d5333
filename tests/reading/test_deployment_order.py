"""Deployments ordered in SQL (issue 15), and records built without pydantic's per-call work."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb

from conftest import WORKSPACES
from pytest_contexta.reading.record_lines import parse_line
from pytest_contexta.reading.records import MetricRecord, RecordLocation
from pytest_contexta.runs.workspace import Workspace

DEPLOYMENTS = WORKSPACES / "deployments"


def test_the_newest_completed_deployment_of_another_run_and_why_newer_ones_were_passed_over() -> None:
    workspace = Workspace(DEPLOYMENTS, lock_timeout=0)
    deployment, passed_over = workspace.latest_completed_deployment("ranker", exclude_run="run:ranker.cand-b")
    assert deployment is not None and (deployment.name, deployment.run_ref) == ("prod-mar", "run:ranker.r3")
    assert passed_over == [
        "rollout-open (open)",
        "shadow-cand-b (deployed the candidate itself)",
        "prod-apr-cancelled (cancelled)",
        "prod-apr-failed (failed)",
        "hotfix-no-run (records no run)",
    ]


def test_real_time_orders_deployments_and_an_unreadable_start_is_passed_over_first(
    workspace_copy: Callable[[str], Path],
) -> None:
    """``…T12:00:00.5Z`` is later than ``…T12:00:00Z`` although it sorts first as a string."""
    root = workspace_copy("deployments")
    connection = duckdb.connect(str(root / "metadata" / "ledger.db"))
    try:
        for name, started in (("prod-jan", "2025-03-15T12:00:00.5Z"), ("prod-feb", "not a time")):
            ref = f"deployment:ranker.{name}"
            (payload,) = connection.execute(
                "SELECT payload_json FROM deployment_executions WHERE ref = ?", [ref]
            ).fetchone()
            connection.execute(
                "UPDATE deployment_executions SET started_at = ?, payload_json = ? WHERE ref = ?",
                [started, json.dumps({**json.loads(payload), "started_at": started}), ref],
            )
    finally:
        connection.close()
    workspace = Workspace(root, lock_timeout=0)
    rows = workspace.deployments_newest_first("ranker")
    assert [row.name for row in rows][:2] == ["prod-feb", "rollout-open"]
    assert [row.name for row in rows].index("prod-jan") == [row.name for row in rows].index("prod-mar") - 1
    deployment, passed_over = workspace.latest_completed_deployment("ranker", exclude_run="run:ranker.cand-b")
    assert deployment is not None and deployment.name == "prod-jan"
    assert passed_over[0] == "prod-feb (its started_at cannot be read as a time)"


def test_a_record_built_by_the_reader_equals_one_pydantic_validates() -> None:
    line = (DEPLOYMENTS / "records" / "segments" / "segment-000001.jsonl").read_bytes().splitlines()[1]
    location = RecordLocation(segment="segment-000001.jsonl", line=2, byte_offset=0)
    built = parse_line(line, location)
    assert isinstance(built, MetricRecord)
    validated = MetricRecord.model_validate(built.model_dump())
    assert built == validated and built.model_dump() == validated.model_dump()
    changed = built.model_copy(update={"value": 0.5})
    assert (changed.value, built.value) != (built.value, built.value)
    assert built.model_fields_set == validated.model_fields_set
