"""Injected faults of the Kubernetes stand-in: a Status, a delay, a dropped connection, a hold."""

from __future__ import annotations

from dataclasses import dataclass

from tests.kubeapi.errors import ApiError, error_answer
from tests.standin_http.answers import Answer
from tests.standin_http.faults import Trigger

FAULT_MESSAGES = {
    401: "Unauthorized",
    403: 'forbidden: User "system:anonymous" cannot perform this action',
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: injected fault",
    503: "the server is currently unable to handle the request",
    504: "Timeout: request did not complete within the allotted timeout",
}


@dataclass
class Fault(Trigger):
    """An injected failure for the Nth matching request and the ``times - 1`` after it."""

    method: str | None = None
    path_contains: str | None = None
    status: int | None = None
    nth: int = 1
    times: int | None = 1  # None: every matching request from the Nth on
    delay: float = 0.0
    drop: bool = False
    retry_after: int | None = None
    after: bool = False  # apply the request to the store first, then fail
    hold: float = 0.0  # seconds to wait after applying the request, before answering
    seen: int = 0

    @property
    def interrupts(self) -> bool:
        return self.drop or self.status is not None

    def answer(self) -> Answer | None:
        """The failure to answer; None to drop the connection."""
        if self.drop:
            return None
        message = FAULT_MESSAGES.get(self.status, f"injected fault: HTTP {self.status}")
        if self.retry_after is None:
            return error_answer(ApiError(self.status, message))
        error = ApiError(self.status, message, {"retryAfterSeconds": self.retry_after})
        return Answer(error.code, error.status(), {"Retry-After": str(self.retry_after)})

