"""A kubeconfig norn cannot use: one line naming it, exit 2, nothing changed, no traceback.

The real CLI in a child process, as a user runs it, against files as users get
them wrong. What kubectl does with the same files is cited where norn follows it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.conftest import WEB_SPEC, Norn

GOOD = (
    "apiVersion: v1\nkind: Config\ncurrent-context: {current}\n"
    "clusters: [{{name: k, cluster: {{server: 'http://127.0.0.1:1'}}}}]\n"
    "users: [{{name: u, user: {{token: t}}}}]\n"
    "contexts: [{{name: dev, context: {{cluster: k, user: u}}}}, {{name: prod, context: {{cluster: k, user: u}}}}]\n"
)

# Nine levels of nine aliases: 9**9 (387 million) strings once written out, in 1 KB of YAML.
BOMB = GOOD.format(current="dev") + "preferences:\n  l0: &l0 [lol]\n" + "".join(
    f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10)
)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def huge(path: Path) -> Path:
    """50 MB, sparse: the kind of file that took minutes to parse."""
    with open(path, "wb") as f:
        f.truncate(50 * 1024 * 1024)
    return path


def directory(path: Path) -> Path:
    path.mkdir()
    return path


# name -> (make the bad KUBECONFIG under a path, words its error line holds)
CASES = {
    # kubectl: "error loading config file ...: yaml: line 2: did not find expected node content"
    "not YAML": (lambda p: write(p, "clusters: [\n"), "is not valid YAML: did not find expected node content (line 2, column 1)"),
    "two documents": (lambda p: write(p, GOOD.format(current="dev") + "---\n" + GOOD.format(current="dev")), "is not valid YAML: "),
    "not a mapping": (lambda p: write(p, "- a\n- b\n"), "is not a kubeconfig: its top level is not a mapping"),
    # client-go tools/clientcmd/validation.go, ConfirmUsable: a current-context not in contexts is
    # errContextNotFound ("context was not found for specified context: gone").
    "missing current context": (lambda p: write(p, GOOD.format(current="gone")), "has no context 'gone' (from its current-context); its contexts: dev, prod"),
    "a directory": (directory, "is a directory, not a file"),
    # Linux refuses to read a process's memory at address 0: open() works, read() fails (EIO).
    "unreadable": (lambda p: Path("/proc/self/mem"), "cannot be read: Input/output error"),
    "alias bomb": (lambda p: write(p, BOMB), "its YAML aliases expand to more than 1,000,000 nodes"),
    "huge": (huge, "is too large: kubeconfig files may hold 2 MiB in all"),
}


@pytest.fixture
def offline(tmp_path) -> Norn:
    norn = Norn(tmp_path)
    norn.write_spec(WEB_SPEC)
    return norn


def one_error_line(run, path: Path, words: str) -> None:
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [line for line in run.stderr.splitlines() if not line.startswith("hint: ")], run.stderr
    assert len(errors) == 1 and errors[0].startswith(f"error: kubeconfig {path}") and words in errors[0], run.stderr


@pytest.mark.parametrize("case", CASES)
def test_forge_with_a_bad_kubeconfig_is_one_line_and_changes_nothing(offline, tmp_path, case):
    make, words = CASES[case]
    path = make(tmp_path / "kubeconfig")
    run = offline("forge", "web", KUBECONFIG=str(path), timeout=30)
    one_error_line(run, path, words)
    assert not (offline.state_dir / "web.json").exists()


def test_a_missing_context_flag_names_it_and_the_contexts_there_are(offline, tmp_path):
    # client-go tools/clientcmd/validation.go, ConfirmUsable: --context wins over current-context.
    path = write(tmp_path / "kubeconfig", GOOD.format(current="dev"))
    run = offline("forge", "web", "--context", "staging", KUBECONFIG=str(path))
    one_error_line(run, path, "has no context 'staging' (from --context); its contexts: dev, prod")
    assert "hint: pass --context with one of them" in run.stderr


def test_a_bad_kubeconfig_with_debug_shows_the_traceback(offline, tmp_path):
    path = write(tmp_path / "kubeconfig", "clusters: [\n")
    run = offline("forge", "web", "--debug", KUBECONFIG=str(path))
    assert run.code == 2 and "Traceback" in run.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_an_unreadable_kubeconfig_file(offline, tmp_path):
    path = write(tmp_path / "kubeconfig", GOOD.format(current="dev"))
    path.chmod(0)
    one_error_line(offline("forge", "web", KUBECONFIG=str(path)), path, "cannot be read: Permission denied")


@pytest.mark.parametrize("case", ["not YAML", "missing current context", "alias bomb"])
def test_status_live_with_a_bad_kubeconfig_leaves_the_state_alone(norn, cluster, tmp_path, case):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    before = (norn.state_dir / "web.json").read_bytes()
    cluster.clear_log()
    make, words = CASES[case]
    path = make(tmp_path / "kubeconfig")
    one_error_line(norn("status", "web", "--live", KUBECONFIG=str(path), timeout=30), path, words)
    assert (norn.state_dir / "web.json").read_bytes() == before
    assert cluster.requests == []
