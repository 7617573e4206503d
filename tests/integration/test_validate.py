"""norn validate: one line per file, each problem with file, line and key; no cluster, no kubernetes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.conftest import CRON_SPEC, WEB_SPEC, Norn

# rule -> (infraspec text, the line validate prints for it, after "<file>:")
RULES = {
    "unknown key": ("app: x\nrole: worker\nreplcas: 2\n", "3: replcas: unknown key; did you mean 'replicas'?"),
    "port range": ("app: x\nrole: webserver\nport: 70000\n", "3: port: must be a whole number from 1 to 65535, got 70000"),
    "webserver needs a port": ("app: x\nrole: webserver\n", "2: port: required when role is webserver;"),
    "cron needs a schedule": ("app: x\nrole: cron\ncommand: echo\n", "2: schedule: required when role is cron;"),
    "cron needs a command": ("app: x\nrole: cron\nschedule: '@daily'\n", "2: command: required when role is cron;"),
    "schedule field": (
        "app: x\nrole: cron\ncommand: echo\nschedule: '61 * * * *'\n",
        "4: schedule: invalid minute field in '61 * * * *': 61 is outside 0-59",
    ),
    "external needs internal": (
        "app: x\nrole: worker\nhosts:\n  external: a.example.com\n",
        "4: hosts.external: needs hosts.internal too",
    ),
    "hostname": (
        "app: x\nrole: worker\nhosts:\n  internal: s\n  external: nodot\n",
        "5: hosts.external: must be a DNS hostname",
    ),
    "volume source": (
        "app: x\nrole: worker\nvolumes:\n  - name: d\n    mountPath: /d\n",
        "4: volumes[0]: needs exactly one of size",
    ),
    "volume size unit": (
        "app: x\nrole: worker\nvolumes:\n  - name: d\n    mountPath: /d\n    size: 5\n",
        "6: volumes[0].size: must be a Kubernetes quantity such as 10Gi, 500Mi or 1G, got the bare number 5",
    ),
    "mount path": (
        "app: x\nrole: worker\nvolumes:\n  - name: d\n    mountPath: d\n    size: 1Gi\n",
        "5: volumes[0].mountPath: must be an absolute path",
    ),
    "unique secrets": ("app: x\nrole: worker\nsecrets:\n  - A\n  - A\n", "5: secrets[1]: 'A' is already used by secrets[0]"),
    "env strings": ("app: x\nrole: worker\nenv:\n  N: 3\n", '4: env.N: must be a string, got 3; quote it: N: "3"'),
    "app name": ("app: X_y\nrole: worker\n", "1: app: must be a DNS-1123 label"),
    "role": ("app: x\nrole: webservr\n", "2: role: must be one of webserver, worker, cron, function, got 'webservr'; did you mean 'webserver'?"),
    "healthcheck": ("app: x\nrole: worker\nhealthcheck: health\n", "3: healthcheck: must be a path starting with '/'"),
    "duplicate key": ("app: x\nrole: worker\nrole: cron\n", "3: role: duplicate key (first set on line 2); keep only one"),
    "yaml syntax": ("app: x\nrole: [w\n", "3: YAML syntax error: "),  # libyaml's wording, or PyYAML's
}


@pytest.fixture
def norn(tmp_path, monkeypatch) -> Norn:
    """A norn with no cluster at all: KUBECONFIG names a file that does not exist."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    return Norn(tmp_path)


def test_each_rule_is_one_line_with_file_line_and_key(norn):
    for rule, (text, _) in RULES.items():
        norn.write_spec(text, folder=rule.replace(" ", "-"))
    run = norn("validate")
    assert run.code == 2, run.stderr
    lines = run.stdout.splitlines()
    for rule, (_, expected) in RULES.items():
        path = norn.apps_dir / rule.replace(" ", "-") / "infraspec.yaml"
        mine = [line for line in lines if line.startswith(f"{path}:")]
        assert len(mine) == 1 and mine[0].startswith(f"{path}:{expected}"), (rule, mine)
    assert len(lines) == len(RULES)


def test_valid_files_say_ok_and_exit_0(norn):
    web, cron = norn.write_spec(WEB_SPEC), norn.write_spec(CRON_SPEC)
    run = norn("validate")
    assert run.code == 0, run.stderr
    assert run.stdout.splitlines() == [f"{cron}: ok", f"{web}: ok"]


def test_paths_folders_and_app_names(norn):
    web = norn.write_spec(WEB_SPEC)
    norn.write_spec(CRON_SPEC, folder="reports")  # found by its app key, not its folder
    bad = norn.cwd / "elsewhere.yaml"
    bad.write_text("app: x\nrole: worker\nport: none\n")
    run = norn("validate", "web", "nightly", str(web.parent), "elsewhere.yaml", "ghost", "missing.yaml")
    assert run.code == 2
    lines = run.stdout.splitlines()
    assert lines[:4] == [
        f"{web}: ok",
        f"{norn.apps_dir / 'reports' / 'infraspec.yaml'}: ok",
        f"{web}: ok",
        "elsewhere.yaml:3: port: must be a whole number from 1 to 65535, got 'none'",
    ]
    assert lines[4].startswith("no infraspec for app 'ghost'; looked at")
    assert lines[5:] == ["missing.yaml: no such file"]


def test_json_output_lists_every_file(norn):
    web = norn.write_spec(WEB_SPEC)
    norn.write_spec("app: x\nrole: worker\nreplcas: 2\n", folder="x")
    run = norn("validate", "--output", "json")
    assert run.code == 2
    assert json.loads(run.stdout) == [
        {"file": str(web), "valid": True, "problems": []},
        {
            "file": str(norn.apps_dir / "x" / "infraspec.yaml"),
            "valid": False,
            "problems": [f"{norn.apps_dir / 'x' / 'infraspec.yaml'}:3: replcas: unknown key; did you mean 'replicas'?"],
        },
    ]


def test_nothing_to_validate_exits_2(norn):
    run = norn("validate")
    assert run.code == 2 and "nothing to validate" in run.stderr and str(norn.apps_dir) in run.stderr


def test_validate_does_not_import_the_kubernetes_client(norn):
    norn.write_spec(WEB_SPEC)
    code = (
        "import sys; from norn.cli import app\n"
        "try:\n    app(['validate'])\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
        "assert not any(m == 'kubernetes' or m.startswith('kubernetes.') for m in sys.modules), 'kubernetes imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=norn.env(), cwd=norn.cwd)
    assert done.returncode == 0, done.stderr
