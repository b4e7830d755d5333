"""A pytest plugin for the benchmark's check run (never the timed ones): counts how often each run is read.

Load it with ``-p count_reads`` (``benchmarks/suites`` on PYTHONPATH); BENCH_READS_FILE names the JSON
file it writes: ``{run ref: number of reads}``, or ``{"unavailable": why}`` when the measured plugin
version has no ``segments.RecordReader.read_run`` to count (``read_runs``, which reads several runs in one
pass, counts each run once) (the check is then reported as not made).
Under pytest-xdist each worker writes its own file, BENCH_READS_FILE with ``.<worker id>`` appended.
"""

import json
import os

_reads: dict = {}

try:
    try:
        from pytest_contexta.reading import segments
    except ImportError:  # a version from before the subpackages (--python)
        from pytest_contexta import segments

    _read_run = segments.RecordReader.read_run
except (ImportError, AttributeError) as exc:
    _reads = {"unavailable": f"pytest_contexta.reading.segments.RecordReader.read_run not found ({exc})"}
else:

    def _count(runs):
        for run in runs:
            _reads[run.text] = _reads.get(run.text, 0) + 1

    if hasattr(segments.RecordReader, "read_runs"):  # read_run reads through read_runs: count there only
        _read_runs = segments.RecordReader.read_runs

        def _counting_read_runs(self, runs):
            _count({run.text: run for run in runs}.values())
            return _read_runs(self, runs)

        segments.RecordReader.read_runs = _counting_read_runs
    else:

        def _counting_read_run(self, run):
            _count([run])
            return _read_run(self, run)

        segments.RecordReader.read_run = _counting_read_run


def pytest_unconfigure(config):
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    path = os.environ["BENCH_READS_FILE"] + (f".{worker}" if worker else "")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(_reads, handle)
