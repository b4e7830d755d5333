"""The gate's options as pytest declares them: command-line flags, ini keys, their help, their environment variables.

How each value is resolved (command line > environment > ini > default) is :mod:`.options`.
"""

from __future__ import annotations

import pytest

HELP = {
    "workspace": "Contexta workspace folder, the one holding metadata/ and records/ (default: .contexta).",
    "candidate": "Run to gate: run:<project>.<run-name> or a unique run name. Repeat to gate several runs; "
    "every check then runs once per candidate. Without it the plugin stays dormant.",
    "baseline": "What candidates are compared against: a run, 'latest-deployment' (the run behind the "
    "project's most recent completed deployment; default) or 'none' (a first deployment: "
    "regression checks are skipped).",
    "report": "Write the gate verdict as JSON to this file (schema: python -m pytest_contexta.report --schema).",
    "markdown": "Append a markdown verdict table to this file (also written to $GITHUB_STEP_SUMMARY when set).",
    "html": "Write the gate verdict as one self-contained HTML page to this file, with a chart per gated metric "
    '(needs the html extra: pip install "pytest-contexta[html]").',
    "lock_timeout": "Seconds to wait while another process holds the ledger locked before failing (default: 10).",
    "allow_partial": "Let a deliberate partial rerun (-k, -m, --deselect, --lf, --sw, --ignore) pass on the checks it "
    "ran; without it, gate checks the selection leaves out fail the gate. Shown in the verdict.",
    "fail_on": "What fails the gate: 'failure' (default; advisory checks that do not pass only warn) or "
    "'warning' (a warning of an advisory check fails the gate too).",
    "waivers": "TOML file of waivers: accepted failures, each with check, candidate, reason, owner and expires "
    "(see docs/tiers-and-waivers.md).",
    "strict_waivers": "Fail the gate (exit 4) on a waiver that waived nothing in the session: unused or expired "
    "(ini contexta_strict_waivers = true).",
    "waiver_max_days": "The most days after today a waiver may expire (default: 90); a later expiry is a usage "
    "error naming its line.",
    "lower_is_better": "Metric name patterns (fnmatch) whose lower values are better, one per line.",
    "higher_is_better": "Metric name patterns (fnmatch) whose higher values are better, one per line; "
    "they win over the built-in lower-is-better names.",
    "history": "How many past deployments give the history: the runs behind the last N completed deployments "
    "of the candidate's project (never the candidate), a run-to-run noise estimate for metrics "
    "without replicates or standard errors (default: 5; 0: no history).",
    "inconclusive": "What an INCONCLUSIVE check (its interval straddles the limit) does to the gate: 'fail' "
    "(default: the gate fails closed) or 'pass'. Shown in the verdict.",
    "replicate_tags": "Metric tag names that tell replicates of one value apart (their records form a sample "
    "whose mean counts), one per line (default: seed, fold, replicate, bootstrap, shard).",
}
ENVIRONMENT = {
    "workspace": "CONTEXTA_WORKSPACE",
    "candidate": "CONTEXTA_CANDIDATE",
    "baseline": "CONTEXTA_BASELINE",
    "report": "CONTEXTA_REPORT",
    "markdown": "CONTEXTA_MARKDOWN",
    "html": "CONTEXTA_HTML",
    "lock_timeout": "CONTEXTA_LOCK_TIMEOUT",
    "fail_on": "CONTEXTA_FAIL_ON",
    "waivers": "CONTEXTA_WAIVERS",
    "history": "CONTEXTA_HISTORY",
    "inconclusive": "CONTEXTA_INCONCLUSIVE",
}


def add_options(parser: pytest.Parser) -> None:
    """Register the ``contexta`` option group and its ini twins."""
    group = parser.getgroup("contexta", "deployment gates on Contexta runs")
    group.addoption("--contexta-workspace", dest="contexta_workspace", metavar="PATH", help=HELP["workspace"])
    group.addoption(
        "--contexta-candidate", dest="contexta_candidate", metavar="RUN", action="append", help=HELP["candidate"]
    )
    group.addoption(
        "--contexta-baseline", dest="contexta_baseline", metavar="RUN|latest-deployment|none", help=HELP["baseline"]
    )
    group.addoption("--contexta-report", dest="contexta_report", metavar="PATH", help=HELP["report"])
    group.addoption("--contexta-markdown", dest="contexta_markdown", metavar="PATH", help=HELP["markdown"])
    group.addoption("--contexta-html", dest="contexta_html", metavar="PATH", help=HELP["html"])
    group.addoption(
        "--contexta-lock-timeout", dest="contexta_lock_timeout", metavar="SECONDS", help=HELP["lock_timeout"]
    )
    group.addoption("--contexta-history", dest="contexta_history", metavar="N", help=HELP["history"])
    group.addoption(
        "--contexta-inconclusive", dest="contexta_inconclusive", metavar="fail|pass", help=HELP["inconclusive"]
    )
    group.addoption(
        "--contexta-allow-partial", dest="contexta_allow_partial", action="store_true", help=HELP["allow_partial"]
    )
    group.addoption("--contexta-fail-on", dest="contexta_fail_on", metavar="failure|warning", help=HELP["fail_on"])
    group.addoption("--contexta-waivers", dest="contexta_waivers", metavar="PATH", help=HELP["waivers"])
    group.addoption(
        "--contexta-strict-waivers", dest="contexta_strict_waivers", action="store_true", help=HELP["strict_waivers"]
    )
    for name in (
        "workspace",
        "baseline",
        "report",
        "markdown",
        "html",
        "lock_timeout",
        "history",
        "inconclusive",
        "fail_on",
        "waivers",
    ):
        parser.addini(f"contexta_{name}", HELP[name])
    parser.addini("contexta_strict_waivers", HELP["strict_waivers"])  # true/false, read by options
    parser.addini("contexta_waiver_max_days", HELP["waiver_max_days"])
    parser.addini("contexta_candidate", HELP["candidate"], type="linelist")
    parser.addini("contexta_lower_is_better", HELP["lower_is_better"], type="linelist")
    parser.addini("contexta_higher_is_better", HELP["higher_is_better"], type="linelist")
    parser.addini("contexta_replicate_tags", HELP["replicate_tags"], type="linelist")
