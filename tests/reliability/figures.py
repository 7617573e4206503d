"""The figures of a reliability run: counted by the tests as they pass, printed at the end.

``conftest.py`` prints them in pytest's terminal summary and, when
``NORN_FIGURES`` names a file, writes them there as JSON (docs/reliability.md
quotes the last run's).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

counts: Counter[str] = Counter()
notes: dict[str, str] = {}

# (key, label), in the order they are printed
LABELS = [
    ("scenarios", "scenarios run (each checked by a rerun or a final state)"),
    ("crash_points", "crash points covered (kill -9, then a plain rerun)"),
    ("crash_points_forge", "  of them in forge"),
    ("crash_points_teardown", "  of them in teardown"),
    ("crash_points_update", "  of them in an in-place update"),
    ("crash_points_kubernetes", "  of them with the kubernetes state backend (Secret and Lease)"),
    ("update_kills_torn_down", "update kills followed by a teardown instead of the rerun"),
    ("update_kills_torn_down_kubernetes", "  of them with the kubernetes state backend (Secret and Lease)"),
    ("fault_cases_transient", "transient fault cases (kind x request, retried)"),
    ("fault_cases_persistent", "persistent fault cases (kind x request, failed then resumed)"),
    ("faults_injected", "faults injected (requests answered with a fault)"),
    ("api_retries", "API retries norn reported"),
    ("bad_inputs", "bad-input examples (hypothesis)"),
    ("bad_inputs_exit_2", "  of them refused with exit 2"),
    ("lock_races", "same-app races (two runs at once)"),
    ("lock_races_kubernetes", "  of them with the kubernetes state backend (Lease)"),
    ("lock_races_exit_3", "  of them with the other run exiting 3"),
    ("lock_races_both_ran", "  of them where both ran"),
    ("load_apps", "apps forged and torn down concurrently"),
    ("load_conflicts_forge", "  ConfigMap write conflicts (409) retried in the forges"),
    ("load_conflicts_teardown", "  ConfigMap write conflicts (409) retried in the teardowns"),
    ("objects_lost", "objects lost"),
    ("objects_extra", "objects left over or duplicated"),
]


def count(key: str, n: int = 1) -> None:
    counts[key] += n


def note(key: str, value: str) -> None:
    notes[key] = value


def report() -> dict:
    return {"counts": {key: counts[key] for key, _ in LABELS if key in counts}, "notes": dict(notes)}


def lines() -> list[str]:
    shown = [(label, counts[key]) for key, label in LABELS if key in counts]
    width = max((len(label) for label, _ in shown), default=0)
    result = [f"{label.ljust(width)}  {value}" for label, value in shown]
    result += [f"{key}: {value}" for key, value in notes.items()]
    return result


def write(path: str) -> None:
    Path(path).write_text(json.dumps(report(), indent=2) + "\n")
