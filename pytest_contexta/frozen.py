"""The one base of the plugin's pydantic models (frozen, strict about unknown fields), and the one line a
validation error reads as."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from .text import first_line


class FrozenModel(BaseModel):
    """A value that never changes once built and refuses fields it does not declare."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def first_problem(exc: Exception) -> str:
    """One short line saying what is wrong: the first pydantic error with its field, or the exception's text."""
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where}: {error['msg']}" if where else error["msg"]
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return first_line(str(exc)) or type(exc).__name__
