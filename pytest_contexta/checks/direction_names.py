"""The names of a shared ``direction`` mapping: those a call does not check are fine, a typo is caught per session.

Teams write one mapping at module level (``DIRECTION = {"loss": "lower", "latency-ms": "lower"}``) and pass it to
every parametrized check, so a call that checks ``accuracy`` gets names it does not check. Each call records the
names it neither checks nor finds recorded in its runs (with the closest checked or recorded keys); at the end of
the session, a name that no gate check of the session checked is reported once, as a note of the verdict.

It is a note, not a warning: a name nothing checks decides nothing, and every checked metric's row says where its
direction came from (a typo leaves the key to the ini rules and the built-in vocabulary, and an undecided key
fails its check).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from ..reading.refs import suggest
from ..runs.models import ContextaRun
from .results import CheckResult


def unknown_names(direction: object, keys: Sequence[str], runs: Iterable[ContextaRun]) -> dict[str, list[str]] | None:
    """The names of a ``direction`` mapping that the call does not check and none of ``runs`` records, each with
    its closest checked or recorded metric keys; None when there are none (or ``direction`` is no mapping)."""
    if not isinstance(direction, Mapping):
        return None
    runs = list(runs)
    unknown = [
        str(name) for name in direction if name not in keys and not any(run.metrics_with_key(str(name)) for run in runs)
    ]
    if not unknown:
        return None
    known = [*keys, *(key for run in runs for key in sorted(run.metric_keys()))]
    return {name: suggest(name, known) for name in unknown}


def with_unknown_names(results: list[CheckResult], unknown: dict[str, list[str]] | None) -> list[CheckResult]:
    """The call's results, each carrying the mapping's unknown names (the session reports them once)."""
    if not unknown:
        return results
    return [result.model_copy(update={"direction_unknown": unknown}) for result in results]


def unknown_name_notes(checks: Iterable[tuple[str, Sequence[CheckResult]]]) -> list[str]:
    """One note per direction name that no check of the session checked: the first gate check that passed it,
    how many did, and the closest metric keys. ``checks`` holds each gate check's node id and helper results."""
    checks = list(checks)
    checked = {result.metric for _, results in checks for result in results if result.metric is not None}
    passed_by: dict[str, set[str]] = {}
    close: dict[str, list[str]] = {}
    for nodeid, name, matches in _unknown(checks):
        if name not in checked:
            passed_by.setdefault(name, set()).add(nodeid)
            close[name] = list(dict.fromkeys([*close.get(name, []), *matches]))
    return [_note(name, sorted(nodeids), close[name]) for name, nodeids in passed_by.items()]


def _unknown(checks: list[tuple[str, Sequence[CheckResult]]]) -> Iterator[tuple[str, str, list[str]]]:
    for nodeid, results in checks:
        for result in results:
            for name, matches in (result.direction_unknown or {}).items():
                yield nodeid, name, matches


def _note(name: str, nodeids: list[str], close: list[str]) -> str:
    """The note on one unknown name; ``nodeids`` sorted, so the note is the same whichever order reports came in."""
    matches = [m for m in close if m != name][:3]
    hint = f"; did you mean {' or '.join(repr(m) for m in matches)}?" if matches else "; remove it if it is stale"
    others = f" and {len(nodeids) - 1} other gate check(s)" if len(nodeids) > 1 else ""
    return (
        f"direction names {name!r} (passed by {nodeids[0]}{others}), but no gate check of this session checks "
        f"it and no run they compared records it{hint}"
    )
