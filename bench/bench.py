"""`make bench`: norn side by side with kubectl, on this machine, in one run.

Started by bench/run.sh with the python of a venv where norn is installed as a
user installs it (not editable). It runs the stand-in Kubernetes API server of
the tests in this process (so the request log can be read) and the stand-in
cloudflared from tests/bin, and compares, each pair alternating run by run
(A B, B A, ...), every run timed by hyperfine:

  norn --help                  vs  kubectl --help
  norn status APP              vs  kubectl version --client
  norn forge APP               vs  bench/kubectl-forge.sh (the same work with kubectl)
  norn status, 1,000 apps      vs  norn status, 1 app
  50 norn forges at once       vs  50 kubectl scripts one after the other

and the peak memory of a forge against the kubectl script's (/usr/bin/time -v),
then the requests each made, from the stand-in's log. It prints a Markdown table
of medians and ratios, and writes it with the raw times under the work folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
DISCOVERY = re.compile(r"^/(version|openapi|api|apis)(/[^/]+)?(/[^/]+)?/?$")


@dataclass
class Pair:
    """Two commands timed alternately: medians in ms and their ratio (A / B)."""

    name: str
    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    target: str = ""
    limit: float | None = None
    unit: str = "ms"
    checks: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(self.a) / statistics.median(self.b)

    def spread(self, times: list[float]) -> str:
        """The middle half of the runs, as a share of the median: how noisy they were."""
        if len(times) < 4:
            return "n/a"
        q1, _, q3 = statistics.quantiles(times, n=4)
        return f"±{(q3 - q1) / 2 / statistics.median(times):.0%}"


class Bench:
    def __init__(self, work: Path, norn: Path, rounds: int) -> None:
        self.work = work
        self.norn = norn
        self.rounds = rounds
        self.server = KubeAPI().start()
        seed_cloudflared(self.server)
        self.state = work / "state"
        self.apps = work / "apps"
        self.manifests = work / "manifests"
        self.cloudflared_state = work / "cloudflared.json"
        bin_dirs = [str(ROOT / "tests" / "bin"), str(norn.parent)]  # the venv's python3 runs the stand-in cloudflared
        self.env = {
            **os.environ,
            "KUBECONFIG": str(self.server.write_kubeconfig(work / "kubeconfig")),
            "KUBECACHEDIR": str(work / "kube-cache"),
            "NORN_STATE_DIR": str(self.state),
            "NORN_APPS_DIR": str(self.apps),
            "CLOUDFLARED_STANDIN_STATE": str(self.cloudflared_state),
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
        for app in [APP, *FIFTY]:
            spec_file = self.apps / app / "infraspec.yaml"
            spec_file.parent.mkdir(parents=True, exist_ok=True)
            spec_file.write_text(SPEC.format(app=app, db=app.replace("-", "_")))
            spec = load(spec_file)
            objects = [manifests.deployment(spec, conf), manifests.service(spec, conf)]
            self.manifests.mkdir(exist_ok=True)
            (self.manifests / f"{app}.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))

    def kubectl_script(self, app: str) -> str:
        return (
            f"bash {ROOT}/bench/kubectl-forge.sh {self.manifests}/{app}.json {app}.example.com "
            f"http://{app}-svc.default.svc.cluster.local:80"
        )

    def reset(self, apps: tuple[str, ...] | list[str] = (APP,)) -> None:
        """Back to an unforged cluster: no app objects, the operator's config, no state."""
        for app in apps:
            self.server.remove("deployments", "default", app, group="apps")
            self.server.remove("services", "default", f"{app}-svc")
        seed_cloudflared(self.server)
        shutil.rmtree(self.state, ignore_errors=True)
        self.cloudflared_state.unlink(missing_ok=True)
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
                check=None) -> Pair:
        """Time A and B alternately; ``check`` (with failures allowed) says after each run of A what it did."""
        rounds = rounds or self.rounds
        for number in range(rounds + 1):  # the first round warms caches and is not counted
            order = [(a, env_a, pair.a), (b, env_b, pair.b)]
            for command, env, times in order if number % 2 else reversed(order):
                if reset:
                    reset()
                took = hyperfine(command, env or self.env, allow_failure=check is not None)
                if check and command == a:
                    pair.checks.append(check())
                if number:
                    times.append(took)
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


def describe(requests: list[tuple[str, str]]) -> str:
    methods: dict[str, int] = {}
    for method, _ in requests:
        methods[method] = methods.get(method, 0) + 1
    discovery = sum(1 for method, path in requests if method == "GET" and DISCOVERY.match(path))
    parts = ", ".join(f"{n} {m}" for m, n in methods.items()) or "none"
    return f"{len(requests)} ({parts}; {discovery} discovery)"


def machine(norn: Path) -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    python = subprocess.run([str(norn.parent / "python"), "--version"], capture_output=True, text=True).stdout.strip()
    kubectl = subprocess.run(["kubectl", "version", "--client"], capture_output=True, text=True).stdout
    hf = subprocess.run(["hyperfine", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": python,
        "kubectl": (kubectl.splitlines() or ["?"])[0],
        "hyperfine": hf,
        "kernel": platform.release(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--norn", type=Path, required=True, help="the norn executable to measure")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (emptied)")
    parser.add_argument("--rounds", type=int, default=15, help="runs of each command in the quick comparisons")
    parser.add_argument("--label", default="", help="a name for this run in the report (e.g. a commit)")
    args = parser.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    bench = Bench(args.work.resolve(), args.norn.resolve(), args.rounds)
    norn = str(bench.norn)
    load_before = os.getloadavg()
    pairs: list[Pair] = []
    print(f"bench: {norn} against the stand-in at {bench.server.url}", flush=True)

    pairs.append(bench.compare(Pair("norn --help / kubectl --help", target="≤ 2x", limit=2.0),
                               f"{norn} --help", "kubectl --help"))
    one = bench.state_dir_with(1)
    pairs.append(bench.compare(Pair("norn status APP / kubectl version --client", target="≤ 2.5x", limit=2.5),
                               f"{norn} status {APP}", "kubectl version --client",
                               env_a={**bench.env, "NORN_STATE_DIR": str(one)}))
    pairs.append(bench.compare(Pair("norn forge APP / kubectl script", target="≤ 1.0x", limit=1.0),
                               f"{norn} forge {APP}", bench.kubectl_script(APP), reset=bench.reset))
    pairs.append(bench.compare(Pair("norn forge APP / kubectl script that also runs cloudflared's ingress validate",
                                    target="n/a (for reading the row above)"),
                               f"{norn} forge {APP}", bench.kubectl_script(APP), reset=bench.reset,
                               env_b={**bench.env, "VALIDATE": "1"}))
    thousand = bench.state_dir_with(1000)
    pairs.append(bench.compare(Pair("norn status: 1,000 apps / 1 app", target="< 3x", limit=3.0),
                               f"{norn} status", f"{norn} status",
                               env_a={**bench.env, "NORN_STATE_DIR": str(thousand)},
                               env_b={**bench.env, "NORN_STATE_DIR": str(one)}, rounds=max(3, args.rounds // 3)))
    fifty = f"bash {ROOT}/bench/fifty.sh"
    pairs.append(bench.compare(Pair("50 norn forges at once / 50 kubectl scripts in turn", target="≤ 2x", limit=2.0,
                                    unit="s"),
                               f"{fifty} norn {len(FIFTY)}", f"{fifty} kubectl {len(FIFTY)} {bench.manifests}",
                               reset=lambda: bench.reset(FIFTY), rounds=2, check=bench.forged))
    memory = bench.peak_memory(Pair("peak memory: norn forge / kubectl script", target="≤ 1.2x", limit=1.2, unit="MiB"),
                               f"{norn} forge {APP}", bench.kubectl_script(APP))

    forge = bench.requests(f"{norn} forge {APP}", prepare=bench.reset)
    again = bench.requests(f"{norn} forge {APP}")
    teardown = bench.requests(f"{norn} teardown {APP} --yes")
    bench.requests(bench.kubectl_script(APP), prepare=bench.reset)  # discovery cache filled
    script = bench.requests(bench.kubectl_script(APP), prepare=bench.reset)
    load_after = os.getloadavg()
    bench.server.stop()

    info = machine(bench.norn)
    lines = [
        f"Run {args.label or '(unlabelled)'}: {info['nproc']} cores, {info['cpu']}, {info['python']}, "
        f"{info['kubectl']}, {info['hyperfine']}, Linux {info['kernel']}; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after.",
        "",
        "| comparison | norn | baseline | ratio | target | met | noise (norn / baseline) |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for pair in [*pairs, memory]:
        scale, fmt = (1000, "{:.2f} s") if pair.unit == "s" else (1, "{:.0f} " + pair.unit)
        a, b = statistics.median(pair.a) / scale, statistics.median(pair.b) / scale
        met = "n/a" if pair.limit is None else "yes" if pair.ratio <= pair.limit else "**no**"
        unfinished = [check for check in pair.checks if not check.startswith(f"{len(FIFTY)} of")]
        if unfinished:
            met = f"**no**: {len(unfinished)} of {len(pair.checks)} runs left apps unforged"
        lines.append(
            f"| {pair.name} | {fmt.format(a)} | {fmt.format(b)} | {pair.ratio:.2f}x | {pair.target} | {met} "
            f"| {pair.spread(pair.a)} / {pair.spread(pair.b)} |"
        )
    lines += [
        "",
        f"Medians of {args.rounds} alternating runs each ({max(3, args.rounds // 3)} for 1,000 apps, 2 for the 50 "
        f"forges, 5 for memory); noise is half the interquartile range over the median. After each run of the "
        f"50 concurrent forges: {'; '.join(pairs[-1].checks)}.",
        "",
        "| requests (stand-in log) | count |",
        "|---|---|",
        f"| norn forge, fresh | {describe(forge)} |",
        f"| norn forge, already forged | {describe(again)} |",
        f"| norn teardown | {describe(teardown)} |",
        f"| kubectl script, discovery cache warm | {describe(script)} |",
        "",
        "norn forge sent: " + ", ".join(f"{m} {p}" for m, p in forge),
    ]
    report = "\n".join(lines) + "\n"
    (args.work / "results.md").write_text(report)
    raw = {p.name: {"norn": p.a, "baseline": p.b, "unit": p.unit} for p in [*pairs, memory]}
    (args.work / "results.json").write_text(json.dumps({"machine": info, "runs": raw}, indent=1))
    print("\n" + report)
    print(f"bench: written to {args.work / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
