"""Generate the workspace of tests/outputs/test_html.py: the example's product-ranker story plus one run whose records
carry markup, to prove the HTML report shows workspace strings as text.

Run with the Python that has contexta 1.0.0 installed (it replaces ``tests/html_workspace/.contexta``)::

    python tests/html_workspace/generate.py

``candidate-v7-markup`` is as good as ``candidate-v2-good``, but its evaluate stage holds two ``warning``
events whose messages are a ``<script>`` element and an ``<img onerror=…>`` element (both would set
``document.title`` to ``pwned`` if a browser ran them), and a warning DegradedRecord with markup in its summary.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / ".contexta"
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE.parents[1] / "example_gates"))
from generate_workspace import ContextaWriter, add_run, quality, write_example  # noqa: E402

MARKUP_RUN = "candidate-v7-markup"
SCRIPT = "<script>document.title='pwned'</script>"
IMAGE = "<img src=x onerror=\"document.title='pwned'\">"


def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    writer = ContextaWriter(OUT, project_name="product-ranker", producer_ref="pytest-contexta.tests")
    try:
        write_example(writer)
        run = add_run(writer, MARKUP_RUN, "2025-06-02", metrics=quality(0.9, 0.932, 0.888, 41.0), loss=0.27)
        writer.event(run, "evaluate.note", SCRIPT, "2025-06-02T10:30:00Z", stage="evaluate", level="warning")
        writer.event(run, "evaluate.preview", IMAGE, "2025-06-02T10:30:30Z", stage="evaluate", level="warning")
        writer.degraded(
            run,
            "evaluate.capture",
            f"preview lost: {IMAGE}",
            "2025-06-02T10:31:00Z",
            category="capture",
            severity="warning",
            stage="evaluate",
        )
    finally:
        writer.close()
    print(f"Wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
