"""Configuration a function reads from its environment (set by the CDK stacks), checked.

Each function declares the variables it needs as a pydantic model (in its composition root,
``lendbridge.wiring.<function>``); a field ``main_table`` is the variable ``MAIN_TABLE``. A
missing, empty or malformed variable stops the function on its first use with a message naming
every such variable, instead of a table name of ``""`` failing later, far from the cause. The
message never repeats a value: the environment is not the place for secrets, but it is cheap to
be sure.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

# DynamoDB's own rule for a table name.
TableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,255}$")]
# An ARN, an alias or a name: whatever the service accepts, but something.
ResourceId = Annotated[str, StringConstraints(pattern=r"^\S+$")]
QueueUrl = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]


class MisconfiguredFunction(RuntimeError):
    """The function's environment lacks what it needs: a deployment defect, never a request's."""


class FunctionSettings(BaseModel):
    """Base of every function's settings: the variables are the fields' names in capitals."""

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=str.upper)

    stage: str = "local"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        source = os.environ if env is None else env
        try:
            return cls.model_validate(dict(source))
        except ValidationError as invalid:
            raise MisconfiguredFunction(f"{cls.__name__}: {_problems(invalid)}") from None


def _problems(invalid: ValidationError) -> str:
    problems = []
    for error in invalid.errors(include_url=False):
        variable = ".".join(str(part) for part in error["loc"])
        if error["type"] == "missing":
            problems.append(f"{variable} is missing")
        elif error.get("input") == "":
            problems.append(f"{variable} is empty")
        else:
            problems.append(f"{variable} is malformed ({error['msg']})")
    return "; ".join(sorted(problems))
