"""The ledger's rows as the reader returns them: runs, stages, batches, deployments, environment snapshots."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..frozen import FrozenModel
from .times import comparable_time

Status = Literal["open", "completed", "failed", "cancelled"]


class Run(FrozenModel):
    """A row of the ledger's ``runs`` table."""

    ref: str
    project_ref: str
    name: str
    status: Status
    started_at: str
    ended_at: str | None = None
    description: str | None = None


class Stage(FrozenModel):
    """A stage execution of a run (at most one per stage name)."""

    ref: str
    run_ref: str
    name: str
    status: Status
    order_index: int | None = None
    started_at: str
    ended_at: str | None = None


class Batch(FrozenModel):
    """A batch execution inside a stage."""

    ref: str
    run_ref: str
    stage_ref: str
    name: str
    status: Status
    order_index: int | None = None
    started_at: str
    ended_at: str | None = None


class Deployment(FrozenModel):
    """A deployment execution; ``run_ref`` is the run it deployed, when recorded."""

    ref: str
    project_ref: str
    name: str
    status: Status
    run_ref: str | None = None
    order_index: int | None = None
    started_at: str
    ended_at: str | None = None
    artifact_ref: str | None = None
    environment_snapshot_ref: str | None = None

    _iso_time = field_validator("started_at")(comparable_time)


class EnvironmentSnapshot(FrozenModel):
    """Python version, platform and packages captured for a run."""

    ref: str
    run_ref: str
    captured_at: str
    python_version: str | None = None
    platform: str | None = None
    packages: dict[str, str] = Field(default_factory=dict)
    environment_variables: dict[str, str] = Field(default_factory=dict)
