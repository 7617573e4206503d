"""bench/report.py: the benchmark's medians, ratios, verdicts and tables, from given times (no
kubectl, no hyperfine)."""

from __future__ import annotations

import pytest

from bench.report import Pair, cloudflared_ms, describe, row, spread, table, verdict, without_cloudflared


def test_ratio_is_of_the_medians():
    pair = Pair("x", a=[10, 30, 20], b=[10, 5, 20])
    assert pair.ratio == 2.0


def test_spread_is_half_the_interquartile_range_over_the_median():
    assert spread([1, 2]) == "n/a"
    assert spread([90, 100, 100, 110]) == "±8%"


def test_without_cloudflared_subtracts_each_runs_own_time():
    pair = Pair("forge", a=[300, 320], b=[250, 270], a_cloudflared=[80, 90], b_cloudflared=[85, 75])
    less = without_cloudflared(pair, "less cloudflared")
    assert (less.a, less.b) == ([220, 230], [165, 195])
    assert less.ratio == pytest.approx(225 / 180)
    assert not less.a_cloudflared  # its row shows no cloudflared column


def test_verdict_against_the_limit_and_the_checks():
    assert verdict(Pair("x", a=[13], b=[10], limit=1.3)) == "yes"
    assert verdict(Pair("x", a=[14], b=[10], limit=1.3)) == "**no**"
    assert verdict(Pair("x", a=[14], b=[10])) == "n/a"
    fifty = Pair("x", a=[1], b=[2], limit=2.0, checks=["50 of 50 forged", "48 of 50 forged"])
    assert verdict(fifty, "50 of") == "**no**: 1 of 2 runs left apps unforged"


def test_row_shows_medians_ratio_and_time_in_cloudflared():
    pair = Pair("forge", a=[300, 310, 320], b=[250, 260, 270], target="≤ 1.3x", limit=1.3,
                a_cloudflared=[80, 82, 84], b_cloudflared=[70, 71, 72])
    assert row(pair) == "| forge | 310 ms | 260 ms | 1.19x | ≤ 1.3x | yes | n/a / n/a | 82 / 71 ms |"
    seconds = Pair("fifty", a=[13760], b=[15770], unit="s", target="≤ 2x", limit=2.0)
    assert row(seconds).startswith("| fifty | 13.76 s | 15.77 s | 0.87x | ≤ 2x | yes |")


def test_table_has_a_header_and_one_row_per_pair():
    lines = table([Pair("a", a=[1], b=[1]), Pair("b", a=[2], b=[1])])
    assert lines[0].startswith("| comparison | norn | baseline | ratio |")
    assert len(lines) == 4


def test_cloudflared_ms_sums_the_shims_lines():
    assert cloudflared_ms("") == 0
    assert cloudflared_ms("100.000000 100.040000\n100,100000 100,150000\n") == pytest.approx(90)


def test_describe_counts_methods_and_discovery():
    log = [("GET", "/api"), ("GET", "/api/v1/namespaces/default"), ("POST", "/apis/apps/v1/namespaces/d/deployments")]
    assert describe(log) == "3 (2 GET, 1 POST; 1 discovery)"
    assert describe([]) == "0 (none; 0 discovery)"


def test_describe_counts_kubectl_applys_openapi_reads_as_discovery():
    # What kubectl apply -f sent against the stand-in (bench.py's update row): the live object, the OpenAPI
    # documents it looks for the patch strategies in (kubernetes, staging/src/k8s.io/kubectl/pkg/cmd/apply/
    # apply.go, ApplyFlags.ToOptions; patcher.go, Patcher.patchSimple), then the patch.
    log = [("GET", "/apis/apps/v1/namespaces/default/deployments/web-apply"), ("GET", "/openapi/v3"),
           ("GET", "/openapi/v2"), ("PATCH", "/apis/apps/v1/namespaces/default/deployments/web-apply")]
    assert describe(log) == "4 (3 GET, 1 PATCH; 2 discovery)"
