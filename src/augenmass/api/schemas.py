"""Request bodies of the JSON API (pydantic: unknown fields and wrong types are a 422)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(min_length=1, max_length=255)]
Text = Annotated[str, Field(max_length=2000)]
Epoch = Annotated[float, Field(ge=0, le=1e11, allow_inf_nan=False)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Target(_Body):
    host: Name
    service: Name | None = None


class LoginBody(_Body):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class AcknowledgeBody(Target):
    comment: Text = ""
    sticky: bool = False
    notify: bool = False
    persistent: bool = False
    expires: Epoch | None = None


class DowntimeBody(Target):
    comment: Text = ""
    start: Epoch | None = None
    end: Epoch | None = None
    duration: Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)] | None = None
    fixed: bool = True
    all_services: bool = False
    child_hosts: bool = False


class RemoveDowntimeBody(_Body):
    id: Annotated[str, Field(min_length=1, max_length=1024)]


class CheckResultBody(Target):
    """The fields of Icinga 2's process-check-result."""

    exit_status: Annotated[int, Field(ge=0, le=3)]
    plugin_output: Annotated[str, Field(max_length=65536)]
    performance_data: list[Annotated[str, Field(max_length=4096)]] | str | None = None
    check_source: Annotated[str, Field(max_length=255)] | None = None
    execution_start: Epoch | None = None
    execution_end: Epoch | None = None


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: a sentence for people; `problems` lists each invalid field."""

    detail: str
    problems: list[FieldProblem] = []
