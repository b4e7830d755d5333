"""The one base of the plugin's pydantic models: frozen, and strict about unknown fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrozenModel(BaseModel):
    """A value that never changes once built and refuses fields it does not declare."""

    model_config = ConfigDict(frozen=True, extra="forbid")
