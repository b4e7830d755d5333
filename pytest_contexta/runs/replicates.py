"""Series and replicates: which records of one key, scope and slice form one value.

Records that differ only in a replicate tag (``seed``, ``fold``, … : ini ``contexta_replicate_tags``)
are one sample, whose value is their mean. Records that differ in any other tag are different series,
and a check must choose one with ``tags={...}``: none is picked silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from ..text import printable

if TYPE_CHECKING:
    from ..reading.records import MetricRecord

DEFAULT_REPLICATE_TAGS = ("seed", "fold", "replicate", "bootstrap", "shard")

#: A failure lists this many series at most (a per-step metric is as many series as steps).
_SHOWN_SERIES = 10

SeriesKey = tuple[tuple[tuple[str, str], ...], tuple[str, ...]]


class Chosen(NamedTuple):
    """The records that make a value: one (``replicates`` empty) or one per replicate; or a ``problem``."""

    records: tuple[MetricRecord, ...] = ()
    replicate_tags: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def is_sample(self) -> bool:
        return bool(self.replicate_tags)


def latest(records: Sequence[MetricRecord]) -> MetricRecord:
    """The value that counts when a metric was logged several times in one scope and series.

    Latest by ``observed_at`` compared as real times (not strings, unlike Contexta); on equal
    times the record appended last wins, as in Contexta.
    """
    return max(records, key=lambda record: (record.observed_time, record.sequence))


def _series_key(record: MetricRecord, replicate_tags: Sequence[str]) -> SeriesKey:
    other = tuple(sorted((name, value) for name, value in record.tags.items() if name not in replicate_tags))
    return other, tuple(name for name in replicate_tags if name in record.tags)


def describe_series(key: SeriesKey) -> str:
    """``dataset=eu, per seed`` or ``untagged`` (tag names and values escaped: they come from the workspace)."""
    parts = [f"{printable(name)}={printable(value)}" for name, value in key[0]] + [f"per {name}" for name in key[1]]
    return ", ".join(parts) or "untagged"


def tags_text(tags: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{name!r}: {value!r}" for name, value in sorted(tags.items())) + "}"


def choose(records: Sequence[MetricRecord], tags: Mapping[str, str] | None, replicate_tags: Sequence[str]) -> Chosen:
    """The records of the one series ``tags`` leaves (every series when ``tags`` is None must be one).

    Within it, records without replicate tags give the latest value; records with them give the latest
    value of each replicate.
    """
    if tags:
        records = [r for r in records if all(r.tags.get(name) == value for name, value in tags.items())]
    series: dict[SeriesKey, list[MetricRecord]] = {}
    for record in records:
        series.setdefault(_series_key(record, replicate_tags), []).append(record)
    if not series:
        return Chosen(problem=f"no record has the tags {tags_text(tags or {})}")
    if len(series) > 1:
        keys = sorted(series)
        found = "; ".join(describe_series(key) for key in keys[:_SHOWN_SERIES])
        found += f"; … {len(keys) - _SHOWN_SERIES} more" if len(keys) > _SHOWN_SERIES else ""
        return Chosen(
            problem=(
                f"recorded as {len(series)} series told apart by tags ({found}); a check never picks one: pass "
                f"tags={{...}} to choose, or add the tag that tells replicates apart to ini contexta_replicate_tags"
            )
        )
    (((_, names), members),) = series.items()
    if not names:
        return Chosen((latest(members),))
    by_replicate: dict[tuple[str, ...], list[MetricRecord]] = {}
    for record in members:
        by_replicate.setdefault(tuple(record.tags[name] for name in names), []).append(record)
    chosen = tuple(latest(group) for _, group in sorted(by_replicate.items()))
    return Chosen(chosen, names)
