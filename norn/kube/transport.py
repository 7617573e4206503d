"""The one place that touches the kubernetes client's internals: a request by path through its ``ApiClient``.

The client is kept for what it is good at (kubeconfig, contexts, exec and token
auth, in-cluster config, TLS); requests go through ``param_serialize`` and
``call_api`` by resource path, which avoids importing the large generated API
classes. The client's own retries are switched off (``connect``): norn retries,
counted and bounded, in Cluster._request.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple


class Answer(NamedTuple):
    status: int
    data: bytes
    headers: Any  # the response's headers, a mapping


class TransportFailed(Exception):
    """No answer: the transport raised (connection refused or reset, timeout ...)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def supported(api_client_class: Any) -> bool:
    """Whether the client has the transport norn sends through (kubernetes 37 and newer)."""
    return hasattr(api_client_class, "param_serialize")


def send(api_client: Any, method: str, path: str, body: Any, content_type: str, timeout: float) -> Answer:
    """One request, as the API server answered it; TransportFailed when it did not."""
    headers = {"Accept": "application/json", "Content-Type": content_type}
    _, url, headers, body, _ = api_client.param_serialize(
        method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
    )
    try:
        response = api_client.call_api(method, url, header_params=headers, body=body, _request_timeout=timeout)
        data = response.read()
    except Exception as exc:  # the transport raises urllib3 and ApiException types
        raise TransportFailed(exc) from exc
    return Answer(response.status, data, response.headers)


def decode(data: bytes) -> dict:
    return json.loads(data) if data else {}
