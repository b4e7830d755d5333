"""The statistics of noise-aware verdicts against published reference values (docs/statistics.md)."""

from __future__ import annotations

import math
import subprocess
import sys
from statistics import NormalDist

import pytest

from conftest import EXAMPLE_WORKSPACE
from pytest_contexta.checks.stats import (
    MAD_SCALE,
    Spread,
    benjamini_hochberg,
    change_interval,
    history_interval,
    holm,
    interval,
    quantile,
    replicate_spread,
    robust_center,
)

# R's `sleep` data set; `t.test(extra ~ group, data = sleep)` (Welch) prints t = -1.8608,
# df = 17.776, 95 percent confidence interval -3.3654832 0.2054832 (R documentation of t.test).
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]

# Benjamini & Hochberg (1995), section 4.2: 15 p-values; at level 0.05 their procedure rejects the
# four smallest, a Bonferroni-type procedure (Holm's) the three smallest.
BH_1995 = [
    0.0001,
    0.0004,
    0.0019,
    0.0095,
    0.0201,
    0.0278,
    0.0298,
    0.0344,
    0.0459,
    0.3240,
    0.4262,
    0.5719,
    0.6528,
    0.7590,
    1.000,
]


def test_welch_interval_matches_r_on_the_sleep_data() -> None:
    change = sum(SLEEP_1) / 10 - sum(SLEEP_2) / 10
    found = change_interval(change, replicate_spread(SLEEP_1), replicate_spread(SLEEP_2), 0.95)
    assert found.df == pytest.approx(17.776, abs=5e-4)
    assert change / found.stderr == pytest.approx(-1.8608, abs=5e-5)
    assert (found.low, found.high) == pytest.approx((-3.3654832, 0.2054832), abs=5e-7)


def test_standard_errors_give_the_normal_interval() -> None:
    found = change_interval(
        0.01, Spread(0.003, None, None, "standard error"), Spread(0.004, None, None, "standard error"), 0.95
    )
    assert found.df is None and found.stderr == pytest.approx(0.005)
    assert found.quantile == pytest.approx(1.959964, abs=1e-6)  # the published 97.5 % point of N(0, 1)
    assert (found.low, found.high) == pytest.approx((0.01 - 1.959964 * 0.005, 0.01 + 1.959964 * 0.005))


def test_mde_at_95_percent_and_80_percent_power_is_2_8_standard_errors() -> None:
    # (z_0.975 + z_0.80) = 1.959964 + 0.841621 = 2.801585: the "2.8 sigma" of lm-eval-harness#1883
    assert interval(0.0, 1.0, None, 0.95).mde == pytest.approx(2.801585, abs=1e-6)


def test_a_standard_error_with_replicates_on_the_other_side_takes_satterthwaite_df() -> None:
    replicates = replicate_spread([0.90, 0.91, 0.92, 0.89])
    found = change_interval(0.0, replicates, Spread(0.0, None, None, "standard error"), 0.95)
    assert found.df == pytest.approx(3)  # only the replicates carry degrees of freedom


def test_history_interval_uses_root_two_times_the_history_sd_and_n_minus_1_df() -> None:
    history = [0.893, 0.896, 0.898, 0.899, 0.900]
    found = history_interval(-0.01, history, 0.95)
    sd = math.sqrt(sum((v - sum(history) / 5) ** 2 for v in history) / 4)
    assert found.stderr == pytest.approx(math.sqrt(2) * sd)
    assert found.df == 4 and found.quantile == pytest.approx(2.776445, abs=1e-6)  # t table, 4 df, 97.5 %


def test_p_value_of_beyond_the_limit_agrees_with_the_interval() -> None:
    found = interval(0.05, 0.01, None, 0.95)  # a worsening of 0.05 ± 0.0196
    assert found.p_beyond(0.05, 0.03) < 0.025 < found.p_beyond(0.05, 0.0306)


def test_benjamini_hochberg_and_holm_on_the_1995_example() -> None:
    assert sum(p <= 0.05 for p in benjamini_hochberg(BH_1995)) == 4
    assert sum(p <= 0.05 for p in holm(BH_1995)) == 3
    assert holm([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09])
    assert holm([0.04, 0.01]) == pytest.approx([0.04, 0.02])  # input order is kept


@pytest.mark.parametrize("pvalues", [BH_1995, [0.01, 0.02, 0.03, 0.04, 0.05], [0.5, 0.001, 0.04, 0.04, 0.9, 0.2]])
def test_benjamini_hochberg_agrees_with_scipy(pvalues: list[float]) -> None:
    from scipy.stats import false_discovery_control

    assert benjamini_hochberg(pvalues) == pytest.approx(list(false_discovery_control(pvalues, method="bh")))


def test_robust_sd_is_1_4826_times_the_mad() -> None:
    assert MAD_SCALE == pytest.approx(1 / NormalDist().inv_cdf(0.75))
    assert robust_center([1.0, 2.0, 3.0, 4.0, 100.0]) == pytest.approx((3.0, MAD_SCALE))


def _modules_after(code: str) -> str:
    probe = (
        f"import sys\nfrom pytest_contexta import Workspace, assert_no_regression\n"
        f"ws = Workspace({str(EXAMPLE_WORKSPACE)!r})\n{code}\nprint('scipy' in sys.modules)"
    )
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("candidate", "baseline", "metric", "imported"),
    [
        ("product-ranker.candidate-v2-good", "product-ranker.baseline-v1", "auc", "False"),  # no noise estimate
        ("search-ranker.seeds-within-noise", "search-ranker.release-5", "ndcg", "False"),  # stderr: the normal
        ("search-ranker.seeds-within-noise", "search-ranker.release-5", "auc", "True"),  # replicates: Welch's t
    ],
)
def test_scipy_is_imported_only_when_a_t_interval_is_computed(
    candidate: str, baseline: str, metric: str, imported: str
) -> None:
    code = (
        f"assert_no_regression(ws.load_run('run:{candidate}'), ws.load_run('run:{baseline}'), "
        f"{metric!r}, stage='evaluate')"
    )
    assert _modules_after(code) == imported


def test_the_normal_quantiles_agree_with_scipy() -> None:
    from scipy import special

    for probability in (0.5, 0.8, 0.9, 0.95, 0.975, 0.995, 0.9995):
        assert quantile(probability, None) == pytest.approx(float(special.ndtri(probability)), rel=1e-12)
        assert interval(1.0, 1.0, None, 0.95).p_beyond(1.0, 1.0 - special.ndtri(probability)) == pytest.approx(
            1 - probability, rel=1e-9
        )
