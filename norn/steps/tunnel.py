"""patch-cloudflared / unpatch-cloudflared / restart-cloudflared.

The cloudflared ConfigMap and Deployment belong to the operator: norn only
adds and removes its own ingress rule, and restarts the Deployment the way
``kubectl rollout restart`` does.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from norn import events, retry
from norn.cloudflare import ingress, ingress_check
from norn.cloudflare.ingress import IngressError
from norn.errors import Conflict, NotFound, StepError
from norn.kube.kinds import CONFIGMAP, DEPLOYMENT, STRATEGIC_MERGE
from norn.resources import IngressRule
from norn.settings import CLOUDFLARED_CONFIG_KEY
from norn.steps import manifests
from norn.steps.pipeline import Context, Skip

MAX_CONFLICT_RETRIES = 20  # conflicts always retried, whatever the time budget; then up to NORN_API_RETRY_SECONDS
CONFLICT_BACKOFF_FIRST = 0.05  # seconds: the ceiling of the first random wait after a conflict, doubling
CONFLICT_BACKOFF_CAP = 1.0
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"

# The points where a step touches the shared tunnel, by step name: what a many-app run gathers (tunnel_batch).
# READ: remove-dns-route's look at the config (steps/routed.py), one GET for the run.
EDIT, RESTART, READ = "edit", "restart", "read"
POINTS = {"patch-cloudflared": EDIT, "unpatch-cloudflared": EDIT, "update-cloudflared": EDIT,
          "restart-cloudflared": RESTART, "remove-dns-route": READ}


def configmap_name(ctx: Context) -> str:
    return f"{ctx.settings.cloudflared_namespace}/{ctx.settings.cloudflared_configmap}"


class Edited(NamedTuple):
    written: str  # the config as the API server now holds it
    changed: bool  # whether norn changed it
    as_sent: bool  # the server holds exactly the (checked) text norn sent, or norn sent nothing: no second look


def edit_config(ctx: Context, edit: Callable[[str], tuple[str, bool]]) -> Edited | None:
    """Read-modify-write the cloudflared config with the resourceVersion read.

    Returns what was written (see Edited), or None when the ConfigMap does not
    exist. A changed config is validated before it is written (see _validate). On
    409 Conflict it re-reads and re-applies, so concurrent edits never lose a rule,
    after a random wait so that the writers that collided spread out; it keeps at
    it for MAX_CONFLICT_RETRIES conflicts, then for as long as
    NORN_API_RETRY_SECONDS allows. cloudflared's own check, a process, runs on the
    first attempt only: between a read and its write it would widen the window in
    which another writer conflicts, and many concurrent forges then ran out of
    retries (a retry still gets norn's checks).
    """
    settings = ctx.settings
    namespace, name = settings.cloudflared_namespace, settings.cloudflared_configmap

    def attempt(conflicts: int) -> Edited | None:
        configmap = ctx.cluster.get(CONFIGMAP, namespace, name)
        if configmap is None:
            return None
        text = (configmap.get("data") or {}).get(CLOUDFLARED_CONFIG_KEY)
        if text is None:
            raise StepError(f"ConfigMap {namespace}/{name} has no {CLOUDFLARED_CONFIG_KEY} key")
        new_text, changed = edit(text)
        if not changed:
            return Edited(text, False, True)
        _validate(ctx, text, new_text, with_cloudflared=conflicts == 0)
        configmap["data"][CLOUDFLARED_CONFIG_KEY] = new_text  # metadata keeps the resourceVersion read
        written = ctx.cluster.replace(CONFIGMAP, namespace, name, configmap)
        held = (written.get("data") or {}).get(CLOUDFLARED_CONFIG_KEY) or ""
        return Edited(held, True, held == new_text)

    def gave_up(_: Exception, conflicts: int, elapsed: float) -> Edited:
        raise StepError(
            f"ConfigMap {namespace}/{name} kept changing under norn ({conflicts} conflicts in {elapsed:.1f} s)",
            hint="something else writes it all the time; rerun when it is quieter",
        ) from None

    return retry.run(
        attempt,
        retryable=lambda error: isinstance(error, Conflict),
        wait=lambda conflicts, _: retry.jittered(conflicts - 1, CONFLICT_BACKOFF_FIRST, CONFLICT_BACKOFF_CAP, floor=0.0),
        give_up=lambda conflicts, elapsed, wait: (
            conflicts >= MAX_CONFLICT_RETRIES and elapsed + wait > settings.api_retry_seconds
        ),
        gave_up=gave_up,
    )


def edit(ctx: Context, change: Callable[[str], tuple[str, bool]]) -> Edited | None:
    """The app's config edit, carried out at once (one app) or in the run's one write (many apps)."""
    return ctx.tools.tunnel.gather(EDIT, ctx, change, edit_all)


def edit_all(batch: list[tuple[Context, Callable[[str], tuple[str, bool]]]]) -> list:
    """One read-modify-write for every (ctx, edit) of ``batch``; for each, its Edited (or None) or the error.

    An edit that cannot be made (IngressError), or whose rule alone makes the config invalid, fails its
    app only; the others are written. The conflict loop of edit_config re-applies them all on a 409.
    """
    if len(batch) == 1:
        ctx, change = batch[0]
        return [_caught(lambda: edit_config(ctx, change))]
    changes = [change for _, change in batch]
    last: dict = {}

    def combined(text: str) -> tuple[str, bool]:
        new_text, flags, refused = combine(batch[0][0], text, changes)
        last.update(flags=flags, refused=refused)
        return new_text, any(flags)

    try:
        edited = edit_config(batch[0][0], combined)
    except Exception as exc:  # the read, the write or cloudflared's check failed: every app's edit with it
        return [last.get("refused", {}).get(i, exc) for i in range(len(batch))]
    refused = last.get("refused", {})
    return [refused.get(i) or (edited and Edited(edited.written, last["flags"][i], edited.as_sent))
            for i in range(len(batch))]


def combine(ctx: Context, text: str, changes: list) -> tuple[str, list[bool], dict[int, Exception]]:
    """``changes`` applied in turn to ``text``: the new text, whether each changed it, and the refused ones.

    A combined config norn's checks refuse is put down to the edits that are refused alone; when none
    is, every edit that changed the config is refused with the checker's words.
    """
    refused: dict[int, Exception] = {}
    while True:
        new_text, flags = _in_turn(text, changes, refused)
        if not any(flags) or not ingress_check.problems(new_text):
            return new_text, flags, refused
        alone = {i: _caught(lambda change=change: _validate(ctx, text, change(text)[0], with_cloudflared=False))
                 for i, change in enumerate(changes) if flags[i]}
        at_fault = {i: exc for i, exc in alone.items() if exc is not None}
        if not at_fault:
            at_fault = {i: _caught(lambda: _validate(ctx, text, new_text, with_cloudflared=False))
                        for i in alone}
        refused.update(at_fault)


def _in_turn(text: str, changes: list, refused: dict[int, Exception]) -> tuple[str, list[bool]]:
    """``changes`` but the refused ones applied in turn (refusing more into ``refused``). Changes of a kind
    that can go ``together`` (AddRule, RemoveRules) and are next to each other go in one pass: one parse
    of the config for a many-app run's fifty, not fifty."""
    flags = [False] * len(changes)
    group: list[int] = []

    def apply_group(text: str) -> str:
        if not group:
            return text
        try:
            text, changed, refusals = type(changes[group[0]]).together(text, [changes[i] for i in group])
        except IngressError as exc:  # the config itself: every change of the group's
            changed, refusals = [False] * len(group), dict.fromkeys(range(len(group)), exc)
        for n, i in enumerate(group):
            flags[i] = changed[n]
            if n in refusals:
                refused[i] = refusals[n]
        group.clear()
        return text

    for i, change in enumerate(changes):
        if i in refused:
            continue
        if group and type(changes[group[0]]) is not type(change):
            text = apply_group(text)
        if hasattr(change, "together"):
            group.append(i)
            continue
        try:
            text, flags[i] = change(text)
        except IngressError as exc:
            refused[i] = exc
    return apply_group(text), flags


def _caught(call: Callable) -> object:
    """What ``call`` returns, or the exception it raised."""
    try:
        return call()
    except Exception as exc:
        return exc


def _validate(ctx: Context, old_text: str, new_text: str, *, with_cloudflared: bool = True) -> None:
    """Refuse a config cloudflared would not run: norn's own checks, then ``cloudflared``'s when it is on PATH."""
    problems = ingress_check.problems(new_text)
    if problems:
        before = " It was already invalid before norn's change." if ingress_check.problems(old_text) else ""
        raise IngressError(
            f"the new cloudflared config would be invalid: {'; '.join(problems)}",
            hint=(
                f"The ConfigMap was left unchanged.{before} "
                f"Fix config.yaml in {configmap_name(ctx)} by hand, then retry."
            ),
        )
    executable = ctx.tools.cloudflared.find() if with_cloudflared else None
    if executable is not None:
        ctx.tools.cloudflared.validate_ingress(executable, new_text, ctx.settings.cloudflared_timeout)


def written_wrong(ctx: Context, what: str) -> StepError:
    return StepError(
        f"the ConfigMap {configmap_name(ctx)} the API server returned {what}: something changed the write",
        hint="look for an admission webhook or controller that rewrites the cloudflared ConfigMap, then retry",
    )


class AddRule(NamedTuple):
    """patch-cloudflared's config edit: route the hostname to the service."""

    hostname: str
    service: str

    def __call__(self, text: str) -> tuple[str, bool]:
        return ingress.add_rule(text, self.hostname, self.service)

    @staticmethod
    def together(text: str, changes: list["AddRule"]) -> tuple[str, list[bool], dict[int, Exception]]:
        return ingress.add_rules(text, [(change.hostname, change.service) for change in changes])


class PatchCloudflared:
    name = "patch-cloudflared"

    def skip_reason(self, ctx: Context) -> str | None:
        if not ctx.spec.hosts.external:
            return "no hosts.external in the infraspec"
        if ctx.resources.ingress_rule:
            return "ingress rule recorded as added"
        return None

    def run(self, ctx: Context) -> str:
        hostname = ctx.spec.hosts.external
        service = manifests.service_url(ctx.spec, ctx.namespace)
        with ctx.tools.recorder.doing(f"add the rule {hostname} → {service} to ConfigMap {configmap_name(ctx)}"):
            edited = edit(ctx, AddRule(hostname, service))
        if edited is None:
            raise Skip(f"ConfigMap {configmap_name(ctx)} not found: cloudflared is not deployed")
        if not edited.as_sent and ingress.find_rule(edited.written, hostname) != service:
            raise written_wrong(ctx, f"does not route {hostname} to {service}")
        ctx.resources.ingress_rule = IngressRule(hostname, service, configmap_name(ctx))
        # Restart even when the rule was there already: a killed run may have written it unrestarted.
        ctx.resources.cloudflared_restart_pending = True
        verb = "added" if edited.changed else "already present:"
        return f"{verb} {hostname} → {service} in {configmap_name(ctx)}"


class UnpatchCloudflared:
    name = "unpatch-cloudflared"

    def skip_reason(self, ctx: Context) -> str | None:
        return None if ctx.resources.ingress_rule or ctx.resources.replaced.ingress_rules else "no ingress rule recorded"

    def run(self, ctx: Context) -> str:
        # With the rules an update was replacing when it was cut off: the config holds one of them.
        rules = [rule for rule in [ctx.resources.ingress_rule, *ctx.resources.replaced.ingress_rules] if rule]
        hostnames = ", ".join(dict.fromkeys(rule.hostname for rule in rules))
        with ctx.tools.recorder.doing(f"remove the rule {hostnames} from ConfigMap {configmap_name(ctx)}"):
            edited = edit(ctx, RemoveRules(tuple(rules)))
        if edited is None:
            ctx.resources.ingress_rule, ctx.resources.replaced.ingress_rules = None, []
            return f"ConfigMap {configmap_name(ctx)} is gone; nothing to remove"
        if not edited.as_sent and any(ingress.find_rule(edited.written, r.hostname) is not None for r in rules):
            raise written_wrong(ctx, f"still routes {hostnames}")
        ctx.resources.ingress_rule, ctx.resources.replaced.ingress_rules = None, []
        ctx.resources.cloudflared_restart_pending = True
        ctx.tools.recorder.keep(f"ConfigMap {configmap_name(ctx)}", "the operator's; only norn's rule is removed")
        return f"removed {hostnames} from {configmap_name(ctx)}" if edited.changed else f"{hostnames} was not in the config"


class RemoveRules(NamedTuple):
    """unpatch-cloudflared's config edit: the app's rules go (see ingress.remove_recorded)."""

    rules: tuple[IngressRule, ...]

    def __call__(self, text: str) -> tuple[str, bool]:
        new_text, [changed], refused = self.together(text, [self])
        if refused:
            raise refused[0]
        return new_text, changed

    def removal(self) -> list[tuple[str, list[str]]]:
        """Each hostname, with the services recorded for it."""
        return [(hostname, [rule.service for rule in self.rules if rule.hostname == hostname])
                for hostname in dict.fromkeys(rule.hostname for rule in self.rules)]

    @staticmethod
    def together(text: str, changes: list["RemoveRules"]) -> tuple[str, list[bool], dict[int, Exception]]:
        return ingress.remove_recorded(text, [change.removal() for change in changes])


class RestartCloudflared:
    name = "restart-cloudflared"

    def skip_reason(self, ctx: Context) -> str | None:
        if ctx.resources.cloudflared_restart_pending:
            return None  # also when an update just removed the app's rule
        if ctx.spec is not None and not ctx.spec.hosts.external:
            return "no hosts.external in the infraspec"
        return "tunnel config unchanged"

    def run(self, ctx: Context) -> str:
        try:
            said, served = ctx.tools.tunnel.gather(RESTART, ctx, None, restart_all)
        except Skip:
            ctx.resources.cloudflared_restart_pending = False
            raise
        ctx.resources.cloudflared_restart_pending = False
        return said if served == 1 else f"{said}, once for the {served} apps of this run that changed the config"


def restart_all(batch: list[tuple[Context, None]]) -> list:
    """One restart for every app of ``batch``: for each, (what was said, how many it served) or the error."""
    result = _caught(lambda: (send_restart(batch[0][0]), len(batch)))
    return [result] * len(batch)


def send_restart(ctx: Context) -> str:
    """What ``kubectl rollout restart`` does to the cloudflared Deployment; Skip when there is none."""
    settings = ctx.settings
    namespace, name = settings.cloudflared_namespace, settings.cloudflared_deployment
    stamp = events.now().strftime("%Y-%m-%dT%H:%M:%SZ")  # RFC 3339 in seconds, as kubectl writes it
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    try:
        with ctx.tools.recorder.doing(
            f"restart Deployment {namespace}/{name}: set the pod template annotation {RESTARTED_AT}"
        ):
            patched = ctx.cluster.patch(DEPLOYMENT, namespace, name, patch, STRATEGIC_MERGE)
    except NotFound:
        raise Skip(f"no cloudflared Deployment {namespace}/{name}") from None
    annotations = patched.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations") or {}
    if annotations.get(RESTARTED_AT) != stamp:
        raise StepError(f"Deployment {namespace}/{name} did not keep the restart annotation {RESTARTED_AT}={stamp}")
    return f"restarted Deployment {namespace}/{name} (restartedAt {stamp})"
