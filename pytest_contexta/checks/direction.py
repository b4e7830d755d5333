"""Whether a metric is better higher or lower, where that answer came from, or why there is none.

The built-in vocabulary names metrics the way common libraries do (scikit-learn, torchmetrics,
Keras, Hugging Face ``evaluate``, MLflow). A key is split into name parts at ``.`` and ``-``; an
entry matches a run of whole parts (``log-loss`` matches ``val-log-loss``, not ``catalog-lossless``),
a longer entry wins over the shorter ones inside it (``negative-log-likelihood`` over
``log-likelihood``), and the parts after ``per`` are a rate's unit, not what it measures
(``errors-per-1k``). A key is decided when its matching entries all say the same direction; no
entry, entries that disagree (``throughput-bytes-per-second``, ``cost-savings``), or a part that
changes what an entry measures (``accuracy-drop``, ``neg-log-loss``, ``accuracy-reduction``) leave
it undecided, and a check on it does not pass until the team declares its direction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Literal, NamedTuple

from ..errors import CheckArgumentError

Direction = Literal["higher", "lower"]
DirectionArgument = Direction | Mapping[str, Direction] | None

#: Name parts, or runs of them joined by ``-``, of metrics whose higher values are better.
HIGHER_IS_BETTER = (
    "accuracy",
    "acc",
    "balanced-accuracy",
    "precision",
    "recall",
    "sensitivity",
    "specificity",
    "f1",
    "fbeta",
    "auc",
    "roc-auc",
    "auroc",
    "pr-auc",
    "auprc",
    "average-precision",
    "map",
    "ndcg",
    "mrr",
    "hit-rate",
    "hits",
    "bleu",
    "sacrebleu",
    "rouge",
    "rouge1",
    "rouge2",
    "rougel",
    "rougelsum",
    "meteor",
    "chrf",
    "bertscore",
    "exact-match",
    "r2",
    "r-squared",
    "explained-variance",
    "iou",
    "miou",
    "jaccard",
    "dice",
    "psnr",
    "ssim",
    "tpr",
    "tnr",
    "true-positive-rate",
    "true-negative-rate",
    "mcc",
    "kappa",
    "log-likelihood",
    "likelihood",
    "elbo",
    "reward",
    "win-rate",
    "relevance",
    "faithfulness",
    "groundedness",
    "throughput",
    "qps",
    "rps",
    "bandwidth",
    "speedup",
    "savings",
    "reduction",
    "gain",
    "uplift",
    "lift",
    "left",
    "remaining",
    "headroom",
)
#: Name parts, or runs of them joined by ``-``, of metrics whose lower values are better.
LOWER_IS_BETTER = (
    "loss",
    "logloss",
    "log-loss",
    "nll",
    "negative-log-likelihood",
    "cross-entropy",
    "crossentropy",
    "bce",
    "kl",
    "kld",
    "kl-divergence",
    "divergence",
    "psi",
    "error",
    "errors",
    "err",
    "error-rate",
    "eer",
    "mae",
    "mse",
    "rmse",
    "msle",
    "rmsle",
    "mape",
    "smape",
    "wape",
    "huber",
    "hinge",
    "brier",
    "ece",
    "wer",
    "cer",
    "ter",
    "perplexity",
    "ppl",
    "fpr",
    "fnr",
    "fdr",
    "false-positive",
    "false-positives",
    "false-negative",
    "false-negatives",
    "miss-rate",
    "distance",
    "fid",
    "lpips",
    "toxicity",
    "regret",
    "latency",
    "duration",
    "time",
    "seconds",
    "secs",
    "sec",
    "ms",
    "minutes",
    "hours",
    "size",
    "bytes",
    "kb",
    "mb",
    "gb",
    "memory",
    "cost",
    "costs",
    "spend",
    "energy",
    "emissions",
    "failures",
    "timeouts",
    "violations",
)
#: Name parts that turn what the other parts measure into something else (a change, a spread, a sign flip:
#: ``accuracy-drop``, ``auc-std``, ``neg-log-loss`` as scikit-learn's scorers name it, ``time-saved``): a
#: key holding one besides an entry is undecided, whichever way the entry points.
CHANGES_MEANING = (
    "neg",
    "negative",
    "inv",
    "inverse",
    "minus",
    "drop",
    "drops",
    "delta",
    "diff",
    "difference",
    "change",
    "gap",
    "std",
    "stdev",
    "stddev",
    "var",
    "variance",
    "spread",
    "drift",
    "degradation",
    "improvement",
    "regression",
    "increase",
    "decrease",
    "saved",
    "free",
    "avoided",
    "fixed",
    "ci",
    "width",
)
#: Entries that measure a change themselves: alone they decide, beside another entry they do not
#: (``accuracy-reduction`` is a loss of accuracy, although both parts say higher).
RELATIVE = ("speedup", "savings", "reduction", "gain", "uplift", "lift", "left", "remaining", "headroom")
_ENTRIES: dict[tuple[str, ...], Direction] = {
    **{tuple(entry.split("-")): "lower" for entry in LOWER_IS_BETTER},
    **{tuple(entry.split("-")): "higher" for entry in HIGHER_IS_BETTER},
}
_LONGEST = max(len(entry) for entry in _ENTRIES)
_RATE_UNIT = "per"


class ResolvedDirection(NamedTuple):
    """A metric's direction (None: undecided) and where the answer came from, or why there is none."""

    direction: Direction | None
    source: str

    def __str__(self) -> str:
        if self.direction is None:
            return f"direction unknown ({self.source})"
        return f"{self.direction} is better ({self.source})"


def _name_parts(key: str) -> list[str]:
    parts = re.split(r"[.-]", key)
    return parts[: parts.index(_RATE_UNIT)] if _RATE_UNIT in parts else parts


def _matches(parts: list[str]) -> tuple[list[tuple[str, Direction]], list[str]]:
    """Vocabulary entries found in ``parts``, longest first, none inside a longer one, in key order; and the
    parts outside them that change what an entry means (``CHANGES_MEANING``)."""
    taken: set[int] = set()
    found: list[tuple[int, str, Direction]] = []
    for length in range(min(_LONGEST, len(parts)), 0, -1):
        for start in range(len(parts) - length + 1):
            span = set(range(start, start + length))
            direction = _ENTRIES.get(tuple(parts[start : start + length]))
            if direction is not None and not span & taken:
                taken |= span
                found.append((start, "-".join(parts[start : start + length]), direction))
    changers = [part for index, part in enumerate(parts) if index not in taken and part in CHANGES_MEANING]
    return [(entry, direction) for _, entry, direction in sorted(found)], changers


def builtin_direction(key: str) -> ResolvedDirection:
    """The built-in vocabulary's answer for ``key``; ``direction`` None when it does not decide."""
    matches, changers = _matches(_name_parts(key))
    directions = {direction for _, direction in matches}
    relative = [entry for entry, _ in matches if entry in RELATIVE]
    if len(directions) == 1 and (changers or (relative and len(matches) > 1)):
        changer = changers[0] if changers else relative[0]
        measured = ", ".join(repr(entry) for entry, _ in matches if entry != changer)
        return ResolvedDirection(
            None,
            f"built-in name part {changer!r} changes what {measured} measures, so "
            f"its direction ({directions.pop()} is better) does not carry over",
        )
    if len(directions) == 1:
        entry, direction = matches[0]
        return ResolvedDirection(direction, f"built-in: name part {entry!r}")
    if not matches:
        return ResolvedDirection(None, "no built-in name part decides it")
    said = ", ".join(f"{entry!r} says {direction}" for entry, direction in matches)
    return ResolvedDirection(None, f"built-in name parts disagree: {said}")


def how_to_declare(key: str) -> str:
    """How a team declares the direction of ``key``: the exact ini line, or the argument."""
    return (
        f"declare it under [pytest] in the ini file with the line 'contexta_lower_is_better = {key}' or "
        f"'contexta_higher_is_better = {key}' (one name per line when the option lists several), or pass "
        f"direction={{{key!r}: 'lower'}} or 'higher'"
    )


def check_direction_argument(direction: DirectionArgument) -> None:
    """Raise :class:`CheckArgumentError` unless ``direction`` is None, 'higher', 'lower' or a mapping of metric keys
    to them. A mapping may name metrics the call does not check (one mapping shared by every check); a name no
    check of the session uses is a note of the verdict (:mod:`.direction_names`)."""
    __tracebackhide__ = True
    values = direction.values() if isinstance(direction, Mapping) else [direction]
    for value in values:
        if value not in (None, "higher", "lower"):
            raise CheckArgumentError(f"direction must be 'higher' or 'lower', not {value!r}")
    if isinstance(direction, Mapping):
        for name in direction:
            if not isinstance(name, str):
                raise CheckArgumentError(f"direction must map metric keys (str) to 'higher' or 'lower', not {name!r}")


def resolve_direction(
    key: str,
    direction: DirectionArgument = None,
    lower_patterns: Sequence[str] = (),
    higher_patterns: Sequence[str] = (),
) -> ResolvedDirection:
    """Resolve in order: the ``direction`` argument, the ini patterns, the built-in vocabulary.

    When none decides, the answer's ``direction`` is None and its ``source`` says why.
    """
    explicit = direction.get(key) if isinstance(direction, Mapping) else direction
    if explicit is not None:
        return ResolvedDirection(explicit, "direction argument")
    for pattern in higher_patterns:
        if fnmatchcase(key, pattern):
            return ResolvedDirection("higher", f"ini contexta_higher_is_better {pattern!r}")
    for pattern in lower_patterns:
        if fnmatchcase(key, pattern):
            return ResolvedDirection("lower", f"ini contexta_lower_is_better {pattern!r}")
    return builtin_direction(key)
