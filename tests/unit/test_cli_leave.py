"""The console script's exit (norn.cli.leave): sys.exit's outcome without the interpreter's module teardown."""

from __future__ import annotations

import subprocess
import sys


def leaving(body: str) -> subprocess.CompletedProcess:
    code = "import atexit, sys, threading, time\nfrom norn.cli import leave\n" + body
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_the_exit_code_the_output_and_the_atexit_handlers_are_as_sys_exit_leaves_them():
    body = "atexit.register(lambda: print('handler ran'))\nprint('out')\nsys.stdout.write('unflushed')\n"
    done, ordinary = leaving(body + "leave(3)"), leaving(body + "sys.exit(3)")
    assert (done.returncode, done.stdout, done.stderr) == (ordinary.returncode, ordinary.stdout, ordinary.stderr)
    assert done.returncode == 3 and "handler ran" in done.stdout and "unflushed" in done.stdout


def test_none_is_0_and_a_message_is_1_on_stderr():
    assert leaving("leave(None)").returncode == 0
    done = leaving("leave('norn: gone wrong')")
    assert (done.returncode, done.stderr) == (1, "norn: gone wrong\n")


def test_a_thread_still_at_work_gets_the_ordinary_exit_which_waits_for_it():
    done = leaving(
        "def late():\n    time.sleep(0.3)\n    print('thread done', flush=True)\n"
        "threading.Thread(target=late).start()\nleave(4)"
    )
    assert (done.returncode, done.stdout) == (4, "thread done\n")


def test_the_console_script_is_run_and_python_m_norn_too():
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    assert tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]["norn"] == "norn.cli:run"
    assert "run()" in (root / "norn" / "__main__.py").read_text()
