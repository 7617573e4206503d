"""What the benchmark ran on: the machine, the Python of norn's venv, kubectl and hyperfine, for the report."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def machine(norn: Path, kubectl: Path) -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    python = subprocess.run([str(norn.parent / "python"), "--version"], capture_output=True, text=True).stdout.strip()
    version = subprocess.run([str(kubectl), "version", "--client"], capture_output=True, text=True).stdout
    hf = subprocess.run(["hyperfine", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": python,
        "kubectl": f"`{kubectl} version --client`: {'; '.join(version.splitlines()) or '?'}",
        "hyperfine": hf,
        "kernel": platform.release(),
    }
