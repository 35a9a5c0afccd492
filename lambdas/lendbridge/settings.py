"""Configuration a function reads from its environment (set by the CDK stacks), checked.

Each function declares the variables it needs as a ``FunctionSettings`` subclass (in its
composition root, ``lendbridge.wiring.<function>``); a field ``main_table`` is the variable
``MAIN_TABLE``. A missing, empty or malformed variable stops the function on its first use with a
message naming every such variable, instead of a table name of ``""`` failing later, far from the
cause. The message never repeats a value: the environment is not the place for secrets, but it is
cheap to be sure.

The checks are the standard library's (frozen dataclasses, ``re``), not pydantic's: they are
patterns and booleans, and pydantic costs about 55 ms of CPU at import, a third of a bare
function's cold start, in the workers that use it for nothing else (docs/decisions.md, "Cold
start, round 4"). A field whose text needs a real parser names it with ``Parsed``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Self, Union, dataclass_transform, get_args, get_origin, get_type_hints


class MisconfiguredFunction(RuntimeError):
    """The function's environment lacks what it needs: a deployment defect, never a request's."""


@dataclasses.dataclass(frozen=True)
class Matches:
    """The whole value matches ``pattern`` (a field's annotation: ``Annotated[str, Matches(...)]``)."""

    pattern: str

    def read(self, text: str) -> str:
        if re.fullmatch(self.pattern, text) is None:
            raise ValueError(f"does not match {self.pattern}")
        return text


@dataclasses.dataclass(frozen=True)
class Parsed:
    """The value is what ``parse`` makes of the text; ``parse`` raises ValueError (a pydantic
    ValidationError is one) when it cannot, and ``expected`` says what was expected instead: the
    parser's own message may quote the text."""

    parse: Callable[[str], Any]
    expected: str

    def read(self, text: str) -> Any:
        try:
            return self.parse(text)
        except ValueError:
            raise ValueError(f"expected {self.expected}") from None


# DynamoDB's own rule for a table name.
TableName = Annotated[str, Matches(r"[A-Za-z0-9_.-]{3,255}")]
# An ARN, an alias or a name: whatever the service accepts, but something.
ResourceId = Annotated[str, Matches(r"\S+")]
QueueUrl = Annotated[str, Matches(r"https?://\S+")]

# The spellings pydantic accepts for a boolean, which the stacks and the tests already write.
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


@dataclass_transform(kw_only_default=True, frozen_default=True)
@dataclasses.dataclass(frozen=True, kw_only=True)
class FunctionSettings:
    """Base of every function's settings: the variables are the fields' names in capitals; a
    field with a default is optional. Each subclass is a frozen dataclass."""

    stage: str = "local"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(frozen=True, kw_only=True)(cls)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        source = os.environ if env is None else env
        hints = get_type_hints(cls, include_extras=True)
        values: dict[str, Any] = {}
        problems = []
        for field in dataclasses.fields(cls):
            variable = field.name.upper()
            text = source.get(variable)
            if text is None:
                if field.default is dataclasses.MISSING:
                    problems.append(f"{variable} is missing")
                continue
            try:
                values[field.name] = _read(hints[field.name], text)
            except ValueError as malformed:
                problems.append(f"{variable} is empty" if text == "" else f"{variable} is malformed ({malformed})")
        settings = None if problems else cls(**values)
        problems = problems if settings is None else settings.problems()
        if problems or settings is None:
            raise MisconfiguredFunction(f"{cls.__name__}: {'; '.join(sorted(problems))}")
        return settings

    def problems(self) -> list[str]:
        """Rules across fields, once each field is valid: a subclass names what is wrong."""
        return []


def _read(hint: Any, text: str) -> Any:
    """``text`` as the field annotated ``hint`` holds it; ValueError (never quoting it) if it
    cannot be."""
    if get_origin(hint) in (Union, types.UnionType):  # an optional field: X | None
        (hint,) = (arm for arm in get_args(hint) if arm is not type(None))
    readers = []
    if get_origin(hint) is Annotated:
        hint, *metadata = get_args(hint)
        readers = [marker for marker in metadata if isinstance(marker, Matches | Parsed)]
    if readers:
        value: Any = text
        for reader in readers:
            value = reader.read(value)
        return value
    if hint is str:
        return text
    if hint is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError("expected a boolean: true or false")
    raise TypeError(f"a setting cannot be read as {hint!r}")
