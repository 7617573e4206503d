"""`make bench`: norn side by side with kubectl, on this machine, in one run.

Started by bench/run.sh with the python of a venv where norn is installed as a
user installs it (not editable), and the plain kubectl bench/baseline.py found
(never the Google Cloud SDK's dispatcher). It runs the stand-in Kubernetes API
server of the tests in this process (so the request log can be read) and the
stand-in cloudflared from tests/bin behind a timing shim (bench/shim), and
compares, each pair alternating run by run (A B, B A, ...), every run timed by
hyperfine:

  norn --help                  vs  kubectl --help
  norn status APP              vs  kubectl version --client
  norn forge APP               vs  bench/kubectl-forge.sh --validate (the same work,
                                   cloudflared's config check included), then without the check
  norn forge APP, replicas     vs  kubectl apply -f of the changed Deployment manifest (an in-place
  changed (an update)              update each: replicas flipped before every run, bench/edits.py)
  norn status, 1,000 apps      vs  norn status, 1 app
  50 norn forges at once       vs  50 kubectl scripts one after the other
  50 forges through norn serve vs  50 norn forges at once (bench/serve.py), and the server's peak memory

and the peak memory of a forge against the kubectl script's (/usr/bin/time -v),
then the requests each made, from the stand-in's log. It prints a Markdown table
of medians and ratios, and writes it with the raw times under the work folder.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # the repository, not bench/: `bench` is then this folder, `tests` the tests'

from bench import serve  # noqa: E402
from bench.edits import VALUES, flip_manifest, flip_spec, manifest_replicas, spec_replicas  # noqa: E402
from bench.host import machine  # noqa: E402
from bench.report import Pair, cloudflared_ms, describe, table, without_cloudflared  # noqa: E402
from tests.kubeapi.server import KubeAPI, seed_cloudflared  # noqa: E402

APP = "web"
SPEC = """\
app: {app}
role: webserver
port: 8080
healthcheck: /health
replicas: 2
hosts:
  external: {app}.example.com
  internal: {app}-svc
services:
  postgres:
    database: {db}
secrets:
  - API_KEY
env:
  LOG_LEVEL: info
"""
FIFTY = [f"app-{i:02d}" for i in range(50)]
APPLIED = "web-apply"  # the Deployment kubectl apply updates beside norn's: the same manifest, its own name


class Bench:
    def __init__(self, work: Path, norn: Path, kubectl: Path, rounds: int) -> None:
        self.work = work
        self.norn = norn
        self.kubectl = kubectl
        self.rounds = rounds
        self.server = KubeAPI().start()
        seed_cloudflared(self.server)
        self.state = work / "state"
        self.apps = work / "apps"
        self.manifests = work / "manifests"
        self.cloudflared_state = work / "cloudflared.json"
        # First on PATH: `kubectl`, the plain binary; `cloudflared`, the timing shim in front of the
        # stand-in; the venv's python3, which runs the stand-in cloudflared.
        kubectl_dir = work / "bin"
        kubectl_dir.mkdir()
        (kubectl_dir / "kubectl").symlink_to(kubectl)
        self.cloudflared_log = work / "cloudflared-times"
        bin_dirs = [str(kubectl_dir), str(ROOT / "bench" / "shim"), str(norn.parent)]
        self.env = {
            **os.environ,
            "KUBECONFIG": str(self.server.write_kubeconfig(work / "kubeconfig")),
            "KUBECACHEDIR": str(work / "kube-cache"),
            "NORN_STATE_DIR": str(self.state),
            "NORN_APPS_DIR": str(self.apps),
            "CLOUDFLARED_STANDIN_STATE": str(self.cloudflared_state),
            "BENCH_CLOUDFLARED": str(ROOT / "tests" / "bin" / "cloudflared"),
            "BENCH_CLOUDFLARED_LOG": str(self.cloudflared_log),
            "PATH": os.pathsep.join([*bin_dirs, os.environ.get("PATH", "")]),
        }
        self.env.pop("NO_COLOR", None)
        self._write_apps()

    # --- setup ---------------------------------------------------------------------

    def _write_apps(self) -> None:
        from norn import settings
        from norn.infraspec.loading import load
        from norn.steps import manifests

        conf = settings.load({})
        for app in [APP, APPLIED, *FIFTY]:
            spec_file = self.apps / app / "infraspec.yaml"
            spec_file.parent.mkdir(parents=True, exist_ok=True)
            spec_file.write_text(SPEC.format(app=app, db=app.replace("-", "_")))
            spec = load(spec_file)
            objects = [manifests.deployment(spec, conf), manifests.service(spec, conf)]
            self.manifests.mkdir(exist_ok=True)
            (self.manifests / f"{app}.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
        self.applied = self.manifests / f"{APPLIED}-deployment.json"
        self.applied.write_text(json.dumps(json.loads((self.manifests / f"{APPLIED}.json").read_text())["items"][0]))

    # --- the update: norn forge of a changed infraspec, kubectl apply of a changed manifest ----------

    def apply_command(self) -> str:
        # --validate=false: the stand-in serves no OpenAPI document (as in kubectl-forge.sh).
        return f"kubectl apply --validate=false -f {self.applied}"

    def update_setup(self) -> None:
        """norn's app forged and kubectl's Deployment applied (so it has its last-applied
        annotation), both at the first of the two replicas values."""
        self.reset()
        spec_file = self.apps / APP / "infraspec.yaml"
        spec_file.write_text(SPEC.format(app=APP, db=APP).replace("replicas: 2", f"replicas: {VALUES[0]}"))
        self.run(f"{self.norn} forge {APP}")
        self.server.remove("deployments", "default", APPLIED, group="apps")
        manifest = json.loads(self.applied.read_text())
        manifest["spec"]["replicas"] = VALUES[0]
        self.applied.write_text(json.dumps(manifest))
        self.run(self.apply_command())

    def flip_norn(self) -> None:
        """Before a run of norn: the last run reached the cluster, then the infraspec's replicas flip."""
        spec_file = self.apps / APP / "infraspec.yaml"
        self._check_live(APP, spec_replicas(spec_file.read_text()))
        spec_file.write_text(flip_spec(spec_file.read_text()))

    def flip_kubectl(self) -> None:
        """Before a run of kubectl apply: the last run reached the cluster, then the manifest's replicas flip."""
        self._check_live(APPLIED, manifest_replicas(self.applied.read_text()))
        self.applied.write_text(flip_manifest(self.applied.read_text()))

    def _check_live(self, name: str, replicas: int) -> None:
        live = self.server.get_object("deployments", "default", name, group="apps")
        if live is None or live["spec"]["replicas"] != replicas:
            found = live and live["spec"]["replicas"]
            raise SystemExit(f"bench: Deployment default/{name} has replicas {found}, not {replicas}: "
                             "the last update did not reach the cluster")

    def kubectl_script(self, app: str, validate: bool = True) -> str:
        """The script doing what `norn forge APP` does; ``validate``: cloudflared's config check too."""
        return (
            f"bash {ROOT}/bench/kubectl-forge.sh {self.manifests}/{app}.json {app}.example.com "
            f"http://{app}-svc.default.svc.cluster.local:80" + (" --validate" if validate else "")
        )

    def reset(self, apps: tuple[str, ...] | list[str] = (APP,)) -> None:
        """Back to an unforged cluster: no app objects, the operator's config, no state."""
        for app in apps:
            self.server.remove("deployments", "default", app, group="apps")
            self.server.remove("services", "default", f"{app}-svc")
        seed_cloudflared(self.server)
        shutil.rmtree(self.state, ignore_errors=True)
        self.cloudflared_state.unlink(missing_ok=True)
        self.cloudflared_log.unlink(missing_ok=True)
        self.server.clear_log()

    def state_dir_with(self, count: int) -> Path:
        """A state folder holding `count` forged apps, copied from a real forge's state."""
        folder = self.work / f"state-{count}"
        if not folder.exists():
            self.reset()
            self.run(f"{self.norn} forge {APP}")
            template = (self.state / f"{APP}.json").read_text()
            folder.mkdir()
            for i in range(count):
                name = APP if count == 1 else f"app-{i:04d}"
                (folder / f"{name}.json").write_text(template.replace(APP, name))
            self.reset()
        return folder

    # --- running ---------------------------------------------------------------------

    def run(self, command: str, env: dict | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run(command.split(), env=env or self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"bench: `{command}` failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done

    def compare(self, pair: Pair, a: str, b: str, *, reset=None, env_a=None, env_b=None, rounds=None,
                check=None, cloudflared=False, prepare_a=None, prepare_b=None) -> Pair:
        """Time A and B alternately; ``check`` (with failures allowed) says after each run of A what it
        did; ``cloudflared``: also record what each run spent in cloudflared calls (the shim's log);
        ``prepare_a``/``prepare_b``: run, untimed, before each run of that side (hyperfine's --prepare)."""
        rounds = rounds or self.rounds
        for number in range(rounds + 1):  # the first round warms caches and is not counted
            order = [(a, env_a, prepare_a, pair.a, pair.a_cloudflared),
                     (b, env_b, prepare_b, pair.b, pair.b_cloudflared)]
            for command, env, prepare, times, in_cloudflared in order if number % 2 else reversed(order):
                if reset:
                    reset()
                if prepare:
                    prepare()
                self.cloudflared_log.unlink(missing_ok=True)
                took = hyperfine(command, env or self.env, allow_failure=check is not None)
                if check and command == a:
                    pair.checks.append(check())
                if number:
                    times.append(took)
                    if cloudflared:
                        log = self.cloudflared_log.read_text() if self.cloudflared_log.exists() else ""
                        in_cloudflared.append(cloudflared_ms(log))
        print(f"  {pair.name}: {statistics.median(pair.a):.0f} vs {statistics.median(pair.b):.0f} ms", flush=True)
        return pair

    def peak_memory(self, pair: Pair, a: str, b: str, rounds: int = 5) -> Pair:
        """Maximum resident set size in MiB (of the largest process: a script's biggest kubectl)."""
        for number in range(rounds):
            order = [(a, pair.a), (b, pair.b)]
            for command, sizes in order if number % 2 else reversed(order):
                self.reset()
                done = subprocess.run(["/usr/bin/time", "-v", *command.split()], env=self.env,
                                      capture_output=True, text=True)
                if done.returncode != 0:
                    raise SystemExit(f"bench: `{command}` failed:\n{done.stderr}")
                kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
                sizes.append(kib / 1024)
        print(f"  {pair.name}: {statistics.median(pair.a):.0f} vs {statistics.median(pair.b):.0f} MiB", flush=True)
        return pair

    def forged(self) -> str:
        """What the 50 concurrent forges left: apps forged, and rules in the cloudflared config."""
        states = [json.loads(path.read_text())["status"] for path in self.state.glob("*.json")]
        config = self.server.get_object("configmaps", "cloudflared", "cloudflared")["data"]["config.yaml"]
        return f"{states.count('forged')} of {len(FIFTY)} forged, {config.count('- hostname: app-')} rules"

    def requests(self, command: str, prepare=None) -> list[tuple[str, str]]:
        if prepare:
            prepare()
        self.server.clear_log()
        self.run(command)
        return [(r.method, r.path) for r in self.server.requests]


def restarts(requests: list[tuple[str, str]]) -> int:
    """The restart PATCHes of the cloudflared Deployment among ``requests``."""
    return sum(1 for method, path in requests if method == "PATCH" and path.endswith("/deployments/cloudflared"))


def hyperfine(command: str, env: dict, allow_failure: bool = False) -> float:
    """One run of `command`, timed by hyperfine with no shell in between; milliseconds."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        ignore = ["--ignore-failure"] if allow_failure else []
        done = subprocess.run(
            ["hyperfine", "-N", "--runs", "1", *ignore, "--show-output", "--export-json", str(out), command],
            env=env, capture_output=True, text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"bench: hyperfine `{command}` failed:\n{done.stdout}{done.stderr}")
        return json.loads(out.read_text())["results"][0]["times"][0] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--norn", type=Path, required=True, help="the norn executable to measure")
    parser.add_argument("--kubectl", type=Path, required=True, help="the plain kubectl (bench/baseline.py)")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (emptied)")
    parser.add_argument("--rounds", type=int, default=15, help="runs of each command in the quick comparisons")
    parser.add_argument("--label", default="", help="a name for this run in the report (e.g. a commit)")
    args = parser.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    bench = Bench(args.work.resolve(), args.norn.resolve(), args.kubectl.resolve(), args.rounds)
    norn = str(bench.norn)
    load_before = os.getloadavg()
    pairs: list[Pair] = []
    print(f"bench: {norn} against the stand-in at {bench.server.url}; baseline {bench.kubectl}", flush=True)

    pairs.append(bench.compare(Pair("norn --help / kubectl --help", target="≤ 1.5x", limit=1.5),
                               f"{norn} --help", "kubectl --help"))
    one = bench.state_dir_with(1)
    pairs.append(bench.compare(Pair("norn status APP / kubectl version --client", target="≤ 1.5x", limit=1.5),
                               f"{norn} status {APP}", "kubectl version --client",
                               env_a={**bench.env, "NORN_STATE_DIR": str(one)}))
    forge = bench.compare(Pair("norn forge APP / kubectl script doing the same work (cloudflared's config check "
                               "included)", target="≤ 1.3x", limit=1.3),
                          f"{norn} forge {APP}", bench.kubectl_script(APP), reset=bench.reset, cloudflared=True)
    pairs.append(forge)
    pairs.append(without_cloudflared(forge, "the same, less the time in cloudflared calls on each side",
                                     target="n/a (the row above with a cloudflared that took no time)"))
    pairs.append(bench.compare(Pair("norn forge APP / kubectl script without the config check",
                                    target="n/a (norn does more work)"),
                               f"{norn} forge {APP}", bench.kubectl_script(APP, validate=False), reset=bench.reset,
                               cloudflared=True))
    # The update before the 50 forges, which leave the machine loaded for a while.
    bench.update_setup()
    pairs.append(bench.compare(Pair("norn forge APP of a one-field change (replicas, an update) / kubectl apply -f "
                                    "of the changed manifest", target="≤ 1.0x", limit=1.0),
                               f"{norn} forge {APP}", bench.apply_command(),
                               prepare_a=bench.flip_norn, prepare_b=bench.flip_kubectl))
    # What any Python program pays before doing anything with norn's dependencies: the update row's floor.
    floor = bench.work / "floor.py"
    floor.write_text("import pydantic, typer, urllib3, yaml\n")
    pairs.append(bench.compare(Pair("python importing typer, pydantic, PyYAML and urllib3, no norn code and no "
                                    "kubernetes client / kubectl apply -f of the changed manifest",
                                    target="n/a (the floor of the update row: the interpreter and the libraries)"),
                               f"{bench.norn.parent / 'python'} {floor}", bench.apply_command(),
                               prepare_b=bench.flip_kubectl))
    update = bench.requests(f"{norn} forge {APP}", prepare=bench.flip_norn)
    apply = bench.requests(bench.apply_command(), prepare=bench.flip_kubectl)
    bench.flip_norn()  # checks that the last runs reached the cluster
    bench.flip_kubectl()
    thousand = bench.state_dir_with(1000)
    pairs.append(bench.compare(Pair("norn status: 1,000 apps / 1 app", target="< 3x", limit=3.0),
                               f"{norn} status", f"{norn} status",
                               env_a={**bench.env, "NORN_STATE_DIR": str(thousand)},
                               env_b={**bench.env, "NORN_STATE_DIR": str(one)}, rounds=max(3, args.rounds // 3)))
    fifty = f"bash {ROOT}/bench/fifty.sh"
    fifties = bench.compare(Pair("50 norn forges at once / 50 kubectl scripts in turn", target="≤ 2x", limit=2.0,
                                 unit="s"),
                            f"{fifty} norn {len(FIFTY)}", f"{fifty} kubectl {len(FIFTY)} {bench.manifests}",
                            reset=lambda: bench.reset(FIFTY), rounds=2, check=bench.forged)
    pairs.append(fifties)
    together = bench.compare(Pair("50 apps in one norn forge / 50 kubectl scripts in turn", target="≤ 0.25x",
                                  limit=0.25, unit="s"),
                             f"{fifty} one {len(FIFTY)}", f"{fifty} kubectl {len(FIFTY)} {bench.manifests}",
                             reset=lambda: bench.reset(FIFTY), rounds=2, check=bench.forged)
    pairs.append(together)
    pairs.extend(serve.compare(bench, FIFTY, f"{fifty} norn {len(FIFTY)}", hyperfine))
    in_one = bench.requests(f"{fifty} one {len(FIFTY)}", prepare=lambda: bench.reset(FIFTY))
    in_turn = bench.requests(f"{fifty} kubectl {len(FIFTY)} {bench.manifests}", prepare=lambda: bench.reset(FIFTY))
    memory = bench.peak_memory(Pair("peak memory: norn forge / kubectl script", target="≤ 1.0x", limit=1.0,
                                    unit="MiB"),
                               f"{norn} forge {APP}", bench.kubectl_script(APP))

    forged = bench.requests(f"{norn} forge {APP}", prepare=bench.reset)
    again = bench.requests(f"{norn} forge {APP}")
    teardown = bench.requests(f"{norn} teardown {APP} --yes")
    bench.requests(bench.kubectl_script(APP), prepare=bench.reset)  # discovery cache filled
    script = bench.requests(bench.kubectl_script(APP), prepare=bench.reset)
    load_after = os.getloadavg()
    bench.server.stop()

    info = machine(bench.norn, bench.kubectl)
    lines = [
        f"Run {args.label or '(unlabelled)'}: {info['nproc']} cores, {info['cpu']}, {info['python']}, "
        f"{info['hyperfine']}, Linux {info['kernel']}; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after.",
        f"Baseline: {bench.kubectl}, {info['kubectl']}.",
        "",
        *table([*pairs, memory], expected_checks=f"{len(FIFTY)} of"),
        "",
        f"Medians of {args.rounds} alternating runs each ({max(3, args.rounds // 3)} for 1,000 apps, 2 for the 50 "
        f"forges, 5 for memory); noise is half the interquartile range over the median; \"in cloudflared\" is the "
        f"median time of a run's cloudflared calls (the stand-in, a Python script), timed by bench/shim. After "
        f"each run of the 50 concurrent forges: {'; '.join(fifties.checks)}.",
        "",
        "| requests (stand-in log) | count |",
        "|---|---|",
        f"| norn forge, fresh | {describe(forged)} |",
        f"| norn forge, already forged | {describe(again)} |",
        f"| norn forge, one-field update (replicas) | {describe(update)} |",
        f"| kubectl apply -f, the same edit (last-applied annotation set) | {describe(apply)} |",
        f"| norn teardown | {describe(teardown)} |",
        f"| kubectl script, discovery cache warm | {describe(script)} |",
        f"| norn forge of {len(FIFTY)} apps in one run | {describe(in_one)}; cloudflared restarts: "
        f"{restarts(in_one)} |",
        f"| {len(FIFTY)} kubectl scripts in turn | {describe(in_turn)}; cloudflared restarts: {restarts(in_turn)} |",
        "",
        "norn forge sent: " + ", ".join(f"{m} {p}" for m, p in forged),
        "",
        "norn forge of the update sent: " + ", ".join(f"{m} {p}" for m, p in update),
        "",
        "kubectl apply sent: " + ", ".join(f"{m} {p}" for m, p in apply),
    ]
    report = "\n".join(lines) + "\n"
    (args.work / "results.md").write_text(report)
    raw = {p.name: {"norn": p.a, "baseline": p.b, "unit": p.unit, "norn_cloudflared": p.a_cloudflared,
                    "baseline_cloudflared": p.b_cloudflared} for p in [*pairs, memory]}
    (args.work / "results.json").write_text(json.dumps({"machine": info, "baseline": str(bench.kubectl),
                                                        "runs": raw}, indent=1))
    print("\n" + report)
    print(f"bench: written to {args.work / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
