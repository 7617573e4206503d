"""The request and response bodies, as the OpenAPI document declares them.

Requests are strict: every key optional, an unknown key or a value of the wrong type is a 422.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field


class ForgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    force: bool = Field(False, description="Tear the app down first, then forge it afresh.")
    wait: bool = Field(False, description="After the steps, wait until the app and cloudflared are rolled out.")
    timeout: str = Field("5m", description="How long wait waits in all, as norn forge --timeout: 90s, 5m, 1h.")


class TeardownRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)

    delete_volumes: bool = Field(False, alias="deleteVolumes", description="Delete the app's volumes too.")


class Accepted(BaseModel):
    run: str
    app: str
    operation: Literal["forge", "teardown"]
    events: str = Field(description="Where the run's events stream: /v1/events?app=APP")


class NothingToDo(BaseModel):
    ran: Literal[False]
    message: str


class Error(BaseModel):
    error: str


class Problem(BaseModel):
    file: str
    line: Optional[int]
    key: Optional[str]
    message: str


class Invalid(BaseModel):
    error: str
    problems: list[Problem]


class EventDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="forge.queued, forge.step, forge.failed, forge.completed, or teardown.*")
    app: str
    time: str
    payload: dict[str, Any]


class RunDocument(BaseModel):
    run: str
    app: str
    operation: Literal["forge", "teardown"]
    status: Literal["queued", "running", "completed", "failed"]
    events: list[EventDocument]


class Health(BaseModel):
    status: Literal["ok", "stopping"]
