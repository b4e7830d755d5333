"""A pytest plugin for the noise scenario's check runs (never the timed ones): which runs each pass over the
segments read (``segments.RecordReader.read_runs``: one call is one pass).

Load it with ``-p count_passes`` (``benchmarks/suites`` on PYTHONPATH); BENCH_PASSES_FILE names the JSON file it
writes: a list of passes, each the list of run refs it read.
"""

import json
import os

try:
    from pytest_contexta.reading import segments
except ImportError:  # a version from before the subpackages (--python)
    from pytest_contexta import segments

_passes: list = []
_read_runs = segments.RecordReader.read_runs


def _counting_read_runs(self, runs):
    _passes.append(sorted({run.text for run in runs}))
    return _read_runs(self, runs)


segments.RecordReader.read_runs = _counting_read_runs


def pytest_unconfigure(config):
    with open(os.environ["BENCH_PASSES_FILE"], "w", encoding="utf-8") as handle:
        json.dump(_passes, handle)
