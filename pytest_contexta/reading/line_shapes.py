"""Metric lines checked in C against a shape validated once, instead of decoded one by one.

A run that logs a loss every step writes a million lines that differ only in their times, record_ref,
tags, value and sequence. The first line of each shape is decoded and validated in full
(:func:`.record_lines.parse_line`); its bytes, with those parts cut out, become a regular expression that
holds the rest literally. A later line that matches it in full is the same record but for those parts,
which the expression allows only in forms that cannot change how the line parses (printable ASCII strings
without quotes or backslashes, JSON numbers, a flat object of such strings); what Contexta's rules say of
their values is checked per line (:meth:`LineShape.read`). Any other line is decoded in full, so a shape
only ever speeds up lines that would decode to the same record anyway.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from .records import MetricRecord, RecordLocation, trusted

_TEXT = rb"[ !#-\[\]-~]*"  # printable ASCII without '"' and '\': a JSON string's content that needs no escape
_PAIR = rb'"[a-z_]+":(?:"' + _TEXT + rb'"|\{\}|\[\])'
_TEXT_PAIR = rb'"[a-z_]+":"' + _TEXT + rb'"'
_TIME = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z"
_NUMBER = rb"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?"
_TAGS = rb'\{(?:"' + _TEXT + rb'":"' + _TEXT + rb'"(?:,"' + _TEXT + rb'":"' + _TEXT + rb'")*)?\}'
_TOKEN = rb"[a-z0-9]+(?:-[a-z0-9]+)*"
_SEQUENCE = rb"[1-9]\d{0,17}"

#: The parts of a line a shape leaves open, in line order, with what each may hold.
_OPEN = (
    ("appended", _TEXT),
    ("observed", _TIME),
    ("token", _TOKEN),
    ("recorded", _TIME),
    ("tags", _TAGS),
    ("value", _NUMBER),
    ("sequence", _SEQUENCE),
)

#: A canonical metric line whose envelope and payload are flat (strings, ``{}``, ``[]``): where its open parts are.
_FLAT_METRIC_LINE = re.compile(
    rb'\{"appended_at":"(?P<appended>' + _TEXT + rb')","record":\{"envelope":\{(?:' + _PAIR + rb",)*"
    rb'"observed_at":"(?P<observed>' + _TIME + rb')",(?:' + _TEXT_PAIR + rb",)*"
    rb'"record_ref":"record:[a-z0-9.-]+\.(?P<token>' + _TOKEN + rb')","record_type":"metric",'
    rb'"recorded_at":"(?P<recorded>' + _TIME + rb')"(?:,' + _PAIR + rb")*\},"
    rb'"payload":\{(?:' + _TEXT_PAIR + rb',)*"tags":(?P<tags>' + _TAGS + rb"),(?:" + _TEXT_PAIR + rb",)*"
    rb'"value":(?P<value>'
    + _NUMBER
    + rb")(?:,"
    + _TEXT_PAIR
    + rb')*\}\},"sequence":(?P<sequence>'
    + _SEQUENCE
    + rb")\}"
)

_KEY_FIELD = b'"metric_key":"'
#: Integers longer than this may not survive a float: such values are decoded in full.
_EXACT_INTEGER_DIGITS = 15


class OpenParts(NamedTuple):
    """What one line holds in a shape's open parts, checked by Contexta's rules (a plain tuple while reading)."""

    token: bytes
    observed: bytes
    recorded: bytes
    tags: bytes
    value: float
    integral: bool
    sequence: int


class LineShape:
    """The metric lines that are one validated line but for their open parts."""

    __slots__ = ("fields", "payload", "prefix", "run_ref", "_match")

    def __init__(self, pattern: bytes, fields: dict[str, Any], payload: dict[str, Any], prefix: str) -> None:
        self._match = re.compile(pattern).fullmatch
        #: The record's fields every line of the shape shares (key, stage_ref, run_ref, markers, ...).
        self.fields = fields
        #: The payload of the first line, to copy with each line's tags and value.
        self.payload = payload
        #: ``record:<project>.<run>.``: a line's record_ref is this plus its token.
        self.prefix = prefix
        self.run_ref: str = fields["run_ref"]

    def read(self, line: bytes) -> tuple[bytes, bytes, bytes, bytes, float, bool, int] | None:
        """The open parts of ``line`` (as :class:`OpenParts` fields, ``recorded`` empty when it is ``observed``)
        when it has this shape and Contexta would accept them; else None."""
        found = self._match(line)
        if found is None:
            return None
        _, observed, token, recorded, tags, value, sequence = found.groups()
        integral = value.isdigit() or (value[:1] == b"-" and value[1:].isdigit())
        if integral and len(value) > _EXACT_INTEGER_DIGITS:
            return None  # decoded in full: it may not fit a float, or even Python's digit limit for int()
        number = float(int(value)) if integral else float(value)  # as JSON reads it: -0 is the integer 0
        if recorded < observed or not math.isfinite(number) or len(token) > 63 or len(self.prefix) + len(token) > 255:
            return None  # decoded in full, which says what is wrong, if anything
        return token, observed, b"" if recorded == observed else recorded, tags, number, integral, int(sequence)

    def record(self, parts: OpenParts, location: RecordLocation) -> MetricRecord:
        """The record a line of this shape with ``parts`` decodes to."""
        tags = json.loads(parts.tags) if len(parts.tags) > 2 else {}
        payload = self.payload.copy()
        payload["tags"] = tags
        payload["value"] = int(parts.value) if parts.integral else parts.value
        fields = self.fields.copy()
        observed = parts.observed.decode()
        fields.update(
            ref=self.prefix + parts.token.decode(),
            observed_at=observed,
            recorded_at=observed if parts.recorded == parts.observed else parts.recorded.decode(),
            sequence=parts.sequence,
            value=parts.value,
            tags=tags,
            payload=payload,
            location=location,
        )
        return trusted(MetricRecord, fields)


def metric_key_of(line: bytes) -> bytes | None:
    """The bytes of a metric line's ``metric_key`` value (what shapes are filed under), found without decoding."""
    start = line.rfind(_KEY_FIELD)
    if start < 0:
        return None
    start += len(_KEY_FIELD)
    end = line.find(b'"', start)
    return line[start:end] if end > 0 else None


def shape_of(line: bytes, record: MetricRecord) -> LineShape | None:
    """The shape of ``line``, which decoded in full to ``record``; None when the line is not flat enough to have
    one, or holds a key twice (its lines are then always decoded in full)."""
    found = _FLAT_METRIC_LINE.fullmatch(line)
    if found is None or not _same_record(found, record) or _has_repeated_keys(line):
        return None
    pattern, position = [], 0
    for name, allowed in _OPEN:
        start, end = found.span(name)
        pattern += [re.escape(line[position:start]), b"(", allowed, b")"]
        position = end
    pattern.append(re.escape(line[position:]))
    fields = {name: value for name, value in record.__dict__.items() if name not in _PER_LINE}
    prefix = record.ref[: len(record.ref) - len(found["token"])]
    return LineShape(b"".join(pattern), fields, dict(record.payload), prefix)


def skeleton_of(line: bytes) -> bytes | None:
    """The bytes a flat metric line's shape is known by (the line without its open parts), or None."""
    found = _FLAT_METRIC_LINE.fullmatch(line)
    if found is None:
        return None
    skeleton, position = [], 0
    for name, _ in _OPEN:
        start, end = found.span(name)
        skeleton.append(line[position:start])
        position = end
    skeleton.append(line[position:])
    return b"\x00".join(skeleton)


_PER_LINE = frozenset({"ref", "observed_at", "recorded_at", "sequence", "value", "tags", "payload", "location"})


def _same_record(found: re.Match[bytes], record: MetricRecord) -> bool:
    """Whether the open parts the expression found are the fields the full decode read (belt and braces)."""
    value = json.loads(found["value"])
    return (
        record.observed_at == found["observed"].decode()
        and record.recorded_at == found["recorded"].decode()
        and record.ref.endswith("." + found["token"].decode())
        and record.sequence == int(found["sequence"])
        and record.value == float(value)
        and record.tags == json.loads(found["tags"])
        and record.payload.get("value") == value
        and type(record.payload.get("value")) is type(value)
    )


class _RepeatedKey(ValueError):
    pass


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> Mapping[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _RepeatedKey
    return found


def _has_repeated_keys(line: bytes) -> bool:
    """Whether any object of the line names a key twice (JSON keeps the last; a shape could not tell which)."""
    try:
        json.loads(line, object_pairs_hook=_refuse_repeats)
    except _RepeatedKey:
        return True
    return False


#: Bounds on what is learnt: shapes per metric key, and line shapes remembered in all.
_SHAPES_PER_KEY = 8
_MAX_SKELETONS = 20_000


class ShapeBook:
    """The shapes learnt from the lines read so far, filed by metric key, the most recently matched first.

    A shape is made from the second line that has it, so a metric logged once costs no expression.
    """

    def __init__(self) -> None:
        self._by_key: dict[bytes, list[LineShape]] = {}
        self._skeletons: dict[bytes, LineShape | None] = {}  # None: seen once

    def match(self, line: bytes) -> tuple[LineShape, tuple[bytes, bytes, bytes, bytes, float, bool, int]] | None:
        """The shape ``line`` has and its open parts, when it has a learnt shape."""
        start = line.rfind(_KEY_FIELD) + len(_KEY_FIELD)
        shapes = self._by_key.get(line[start : line.find(b'"', start)]) if start >= len(_KEY_FIELD) else None
        for number, shape in enumerate(shapes or ()):
            parts = shape.read(line)
            if parts is not None:
                if number:
                    shapes.insert(0, shapes.pop(number))  # type: ignore[union-attr]
                return shape, parts
        return None

    def hold(
        self, hits: list[tuple[int, int, bytes]], found: Mapping[str, Any], segment: int
    ) -> Iterator[tuple[int, int, bytes]]:
        """Add each hit (byte offset, line number, line) that has a learnt shape to ``found[run].held`` (the
        :class:`~.run_records.RunLines` of its run, if read); yield the others, to be decoded in full."""
        match = self.match
        for hit in hits:
            shaped = match(hit[2])
            if shaped is None:
                yield hit
                continue
            lines = found.get(shaped[0].run_ref)
            if lines is not None:
                lines.held.append((*shaped, segment, hit[1], hit[0]))

    def learn(self, line: bytes, record: MetricRecord) -> None:
        """Remember the shape of ``line``, which decoded in full to ``record``."""
        key = metric_key_of(line)
        if key is None or len(self._skeletons) >= _MAX_SKELETONS:
            return
        skeleton = skeleton_of(line)
        if skeleton is None:
            return
        if skeleton not in self._skeletons:
            self._skeletons[skeleton] = None
            return
        shapes = self._by_key.setdefault(key, [])
        if self._skeletons[skeleton] is not None or len(shapes) >= _SHAPES_PER_KEY:
            return
        made = shape_of(line, record)
        if made is not None:
            self._skeletons[skeleton] = made
            shapes.insert(0, made)
