"""The benchmark's arithmetic and its Markdown: medians, ratios, noise, the request counts. Pure."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

DISCOVERY = re.compile(r"^/(version|openapi|api|apis)(/[^/]+)?(/[^/]+)?/?$")
HEADER = [
    "| comparison | norn | baseline | ratio | target | met | noise (norn / baseline) | in cloudflared (norn / baseline) |",
    "|---|---:|---:|---:|---|---|---|---|",
]


@dataclass
class Pair:
    """Two commands timed alternately (A is norn, B the baseline), with what each run spent in
    cloudflared when the bench timed that (both lists empty otherwise)."""

    name: str
    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    target: str = ""
    limit: float | None = None
    unit: str = "ms"
    checks: list[str] = field(default_factory=list)
    a_cloudflared: list[float] = field(default_factory=list)
    b_cloudflared: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(self.a) / statistics.median(self.b)


def spread(times: list[float]) -> str:
    """Half the interquartile range over the median: how noisy the runs were."""
    if len(times) < 4:
        return "n/a"
    q1, _, q3 = statistics.quantiles(times, n=4)
    return f"±{(q3 - q1) / 2 / statistics.median(times):.0%}"


def without_cloudflared(pair: Pair, name: str, target: str = "", limit: float | None = None) -> Pair:
    """The same runs less the time each spent in cloudflared: the ratio a compiled cloudflared
    would leave, the stand-in being a Python script (slower to start than the Go binary)."""
    return Pair(
        name,
        [t - c for t, c in zip(pair.a, pair.a_cloudflared, strict=True)],
        [t - c for t, c in zip(pair.b, pair.b_cloudflared, strict=True)],
        target=target,
        limit=limit,
    )


def verdict(pair: Pair, expected_checks: str = "") -> str:
    """Whether the ratio meets the target; a run whose check did not start with
    ``expected_checks`` (the 50 forges: "50 of") fails it whatever the time."""
    unfinished = [check for check in pair.checks if not check.startswith(expected_checks)]
    if unfinished:
        return f"**no**: {len(unfinished)} of {len(pair.checks)} runs left apps unforged"
    if pair.limit is None:
        return "n/a"
    return "yes" if pair.ratio <= pair.limit else "**no**"


def row(pair: Pair, expected_checks: str = "") -> str:
    scale, fmt = (1000, "{:.2f} s") if pair.unit == "s" else (1, "{:.0f} " + pair.unit)
    a, b = statistics.median(pair.a) / scale, statistics.median(pair.b) / scale
    cloudflared = ""
    if pair.a_cloudflared:
        cloudflared = f"{statistics.median(pair.a_cloudflared):.0f} / {statistics.median(pair.b_cloudflared):.0f} ms"
    return (
        f"| {pair.name} | {fmt.format(a)} | {fmt.format(b)} | {pair.ratio:.2f}x | {pair.target} "
        f"| {verdict(pair, expected_checks)} | {spread(pair.a)} / {spread(pair.b)} | {cloudflared} |"
    )


def table(pairs: list[Pair], expected_checks: str = "") -> list[str]:
    return [*HEADER, *(row(pair, expected_checks) for pair in pairs)]


def cloudflared_ms(log: str) -> float:
    """Milliseconds spent in cloudflared, from the timing shim's lines ("START END", seconds
    since the epoch as bash's EPOCHREALTIME gives them; a comma where the locale has one)."""
    total = 0.0
    for line in log.splitlines():
        start, end = (float(value.replace(",", ".")) for value in line.split())
        total += end - start
    return total * 1000


def describe(requests: list[tuple[str, str]]) -> str:
    """A request log as counts: "6 (2 POST, 2 GET, 1 PUT, 1 PATCH; 0 discovery)"."""
    methods: dict[str, int] = {}
    for method, _ in requests:
        methods[method] = methods.get(method, 0) + 1
    discovery = sum(1 for method, path in requests if method == "GET" and DISCOVERY.match(path))
    parts = ", ".join(f"{n} {m}" for m, n in methods.items()) or "none"
    return f"{len(requests)} ({parts}; {discovery} discovery)"
