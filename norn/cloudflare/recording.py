"""The dry run's cloudflared and Cloudflare API: what reads runs for real, what writes is recorded.

``cloudflared tunnel route dns`` creates a DNS record, so a dry run records it;
``ingress validate`` and ``tunnel info`` only read, and run. The Cloudflare API's
GETs are sent, its DELETE is recorded.
"""

from __future__ import annotations

from typing import Any

from norn.cloudflare.cloudflared import Cloudflared
from norn.kube.recording import Recorder


class RecordingCloudflared(Cloudflared):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def route_dns(self, executable: str, tunnel: str, hostname: str, timeout: float) -> str:
        self.recorder.record(f"run cloudflared tunnel route dns {tunnel} {hostname}")
        return ""  # says nothing of what was routed: the step's checks of the output do not apply


class RecordingApi:
    """The Api interface (``get``, ``delete``) over a real Api."""

    def __init__(self, api: Any, recorder: Recorder) -> None:
        self._api = api
        self.recorder = recorder

    def get(self, path: str, **params: str) -> tuple[Any, dict]:
        return self._api.get(path, **params)

    def delete(self, path: str) -> Any:
        self.recorder.record(f"DELETE {path} through the Cloudflare API")
        return None
