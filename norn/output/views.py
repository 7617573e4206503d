"""How a plan looks as text. Pure: each function returns text; the CLI prints it."""

from __future__ import annotations

import yaml

from norn.operations.plan import BLOCKED, FAIL, RESUME, RUN, SKIP, UPDATE, Plan

_MARKS = {RUN: "+", RESUME: "+", UPDATE: "~", SKIP: "=", FAIL: "!", BLOCKED: "·"}


def plan_lines(plan: Plan) -> list[str]:
    """``norn plan``: each step with what it would do and why, the config diff, what is kept."""
    lines = [f"Plan: {plan.summary}"]
    if not plan.steps:
        return lines
    mixed = len({s.operation for s in plan.steps}) > 1
    names = [f"{s.operation} {s.step}" if mixed else s.step for s in plan.steps]
    width = max(len(name) for name in names)
    for step, name in zip(plan.steps, names):
        lines.append(f"  {_MARKS[step.action]} {name:<{width}}  {step.action}: {step.why}")
        lines.extend(f"      {change}" for change in step.changes)
    if objects := plan.objects:
        described = ", ".join(f"{o['kind']} {o['metadata']['namespace']}/{o['metadata']['name']}" for o in objects)
        lines.append(f"Would create {len(objects)} object{'s' if len(objects) > 1 else ''}: {described} (-o yaml shows them)")
    for update in plan.updates:
        lines.append(f"Would update {update.kind} {update.namespace}/{update.name}:")
        lines.extend(update.diff.splitlines())
    if diff := plan.config_diff():
        lines.append("cloudflared config:")
        lines.extend(diff.splitlines())
    if plan.kept:
        lines.append("Kept:")
        lines.extend(f"  {item}" for item in plan.kept)
    if plan.fails:
        failed = next(s for s in plan.steps if s.action == FAIL)
        lines.append(f"This {plan.operation} would fail at {failed.step}. Nothing was changed.")
    else:
        lines.append("Nothing was changed (dry run).")
    return lines


def plan_yaml(plan: Plan) -> str:
    """The objects the forge would create as a YAML stream, the steps as comments above them."""
    header = [f"# norn plan: {plan.summary}"]
    header += [f"# {s.step}: {s.action} ({s.why})" for s in plan.steps]
    body = yaml.safe_dump_all(plan.objects, sort_keys=False, explicit_start=True, allow_unicode=True) if plan.objects else ""
    return "\n".join(header) + "\n" + body

