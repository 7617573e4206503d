"""The summary that ends a many-app run: each app's outcome, then the run's exit code."""

from __future__ import annotations

from norn.operations.many import AppResult, worst

_WHY = {1: "failed", 2: "refused", 3: "busy", 130: "interrupted"}


def lines(results: list[AppResult], operation: str) -> list[str]:
    """``forge of 3 apps: 2 done, 1 failed (exit 1)``, then a line per app."""
    codes = sorted({result.code for result in results})
    tally = ", ".join(f"{sum(1 for result in results if result.code == code)} {_word(code)}" for code in codes)
    head = f"{operation} of {len(results)} apps: {tally} (exit {worst(results)})"
    width = max((len(result.app) for result in results), default=0)
    return [head, *(f"  {result.app:<{width}}  {_outcome(result)}" for result in results)]


def _word(code: int) -> str:
    return _WHY.get(code, f"exit {code}") if code else "done"


def _outcome(result: AppResult) -> str:
    if result.code == 0:
        return result.message
    if result.failed_step:
        return f"failed at {result.failed_step}: {result.message}; rerun the same command to resume"
    return f"{_WHY.get(result.code, 'failed')}: {result.message}"
