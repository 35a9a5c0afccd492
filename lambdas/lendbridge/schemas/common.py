"""Field types and envelopes reused across the API's schemas."""

# No postponed annotations (`from __future__ import annotations`) in schema modules: pydantic
# would evaluate each field's type from its text at class creation, in every cold start.

import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, get_args

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    create_model,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

# A dot-atom local part (no leading, trailing or doubled dot) of at most 64 characters, and a
# host name of at least two labels: a subset of what JSON Schema's ``format: email`` accepts.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+$")


def _email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("Must be a valid email address")
    return value.lower()


# Characters a person cannot see but that change what a reader sees: C0 and C1 controls (DEL
# included), and the marks, embeddings, overrides and isolates that reorder bidirectional text
# (the "Trojan Source" characters; a name or reason shown reversed to someone else). The pattern
# is written in syntax both Python and ECMA-262 read, so the OpenAPI document shows the same rule.
HIDDEN_CHARACTERS = r"\x00-\x1F\x7F-\x9F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069"
TEXT_PATTERN = rf"^[^{HIDDEN_CHARACTERS}]*$"
# A required text field is trimmed before its minimum length is checked: it needs a visible character.
NONBLANK_TEXT_PATTERN = rf"^(?=.*\S)[^{HIDDEN_CHARACTERS}]*$"
_HIDDEN_CHARACTER = re.compile(rf"[{HIDDEN_CHARACTERS}]")

# Numbers are written with ASCII digits only: Python's Decimal and int would also read other
# scripts' digits (Arabic-Indic, full-width) and underscores ("1_000").
DECIMAL_PATTERN = r"^[0-9]+(\.[0-9]+)?$"
INTEGER_PATTERN = r"^[0-9]+$"


def refuse_hidden_characters(value: str) -> str:
    found = _HIDDEN_CHARACTER.search(value)
    if found:
        raise PydanticCustomError(
            "hidden_character",
            "Must not contain control or bidirectional formatting characters (found {code_point})",
            {"code_point": f"U+{ord(found.group()):04X}"},
        )
    return value


class _AsciiNumberText:
    """Refuses a number written as text unless it matches ``pattern`` (ASCII digits), and shows
    that pattern in the document. Placed after the bounds (``Annotated[Decimal, Field(gt=0),
    ASCII_DECIMAL]``) so pydantic still documents them as minimum and maximum."""

    def __init__(self, pattern: str, message: str, *, documented: str | None = None, step: str | None = None) -> None:
        """``documented``: the exact text rule to show, bounds and places included, when it is
        narrower than ``pattern``; ``step``: the number branch's ``multipleOf`` (the places)."""
        self._pattern = pattern
        self._text = re.compile(pattern)
        self._message = message
        self._documented = documented or pattern
        self._step = step

    def documenting(self, documented: str, step: str) -> "_AsciiNumberText":
        return _AsciiNumberText(self._pattern, self._message, documented=documented, step=step)

    def _check(self, value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError("number_type", "Must be a number, not a boolean")
        if isinstance(value, str) and not self._text.fullmatch(value):
            raise PydanticCustomError("number_text", self._message)
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        documented = handler(schema)
        for branch in documented.get("anyOf", []):
            if branch.get("type") == "string":
                branch["pattern"] = self._documented
            if branch.get("type") == "number" and self._step is not None:
                branch["multipleOf"] = float(self._step)
        return documented


# Money and rates: a JSON number, or a decimal string of ASCII digits.
ASCII_DECIMAL = _AsciiNumberText(
    DECIMAL_PATTERN, "A decimal string has ASCII digits and an optional fraction, e.g. 5000.00"
)
# Integers that arrive as text (query parameters).
ASCII_INTEGER = _AsciiNumberText(INTEGER_PATTERN, "Must be a whole number written with ASCII digits")


class _NotNull:
    """Validates ``X | None`` as ``X`` alone, refusing an explicit null with a clear message:
    the None is only the value Python sees when the field was left out."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        (member,) = [arg for arg in get_args(source) if arg is not type(None)]
        return core_schema.no_info_before_validator_function(_refuse_null, handler.generate_schema(member))


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("null_not_allowed", "May be omitted, but not null")
    return value


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


Email = Annotated[
    str,
    # Not trimmed: the document's pattern (and JSON Schema's email format) has no white space,
    # so " ada@example.com" is refused rather than silently changed.
    StringConstraints(strip_whitespace=False),
    Field(
        max_length=254,
        examples=["ada@example.com"],
        description="An email address (compared case-insensitively; stored in lower case)",
        json_schema_extra={"format": "email", "pattern": _EMAIL.pattern},
    ),
    AfterValidator(_email),
]
PlainText = Annotated[str, AfterValidator(refuse_hidden_characters)]


def _whole_number(value: Any) -> Any:
    """JSON Schema counts 36.0 as an integer; so does the API (strict otherwise: no text, no bool)."""
    # Bodies parse numbers with a fraction as Decimal (see http.json_body); 36.0 arrives as one.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return value


# A loan's or a booking's term. The bounds first, so that the document shows them as minimum and maximum.
TermMonths = Annotated[int, Field(ge=1, le=600, strict=True), BeforeValidator(_whole_number)]

V = TypeVar("V")
# A field that may be left out but never sent as null: Python sees None when it is left out
# (read ``model_fields_set`` to tell), the document shows neither null nor a default.
Omittable = Annotated[V | None, _NotNull(), Field(json_schema_extra=_without_default)]


def _document_input_rules(schema: dict[str, Any], model: type[Any]) -> None:
    """The hidden-character rule as a pattern on every plain text field, and the model's
    ``EXAMPLE`` (a body the server accepts, checked by a unit test) as the schema's example."""
    for prop in schema.get("properties", {}).values():
        if prop.get("type") == "string" and not {"pattern", "enum", "const", "format"} & prop.keys():
            prop["pattern"] = NONBLANK_TEXT_PATTERN if prop.get("minLength", 0) > 0 else TEXT_PATTERN
    example = getattr(model, "EXAMPLE", None)
    if example is not None:
        schema["examples"] = [example]
    one_of = getattr(model, "AT_LEAST_ONE_OF", ())
    if one_of:
        schema["anyOf"] = [{"required": [name]} for name in one_of]


class Schema(BaseModel):
    """Every model of the API. Validators and serializers are built on a model's first use, not
    when its module is imported: a function's container may never serve most of its routes, and
    a cold start should not pay for them (see docs/decisions.md)."""

    model_config = ConfigDict(defer_build=True)


class Strict(Schema):
    """Inputs refuse unknown fields, trim surrounding white space and, in every text field,
    refuse hidden characters (checked on the text as sent, before trimming)."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=_document_input_rules, defer_build=True
    )

    # A request body the server accepts as it stands, shown in the OpenAPI document.
    EXAMPLE: ClassVar[dict[str, Any] | None] = None
    # Fields of which the body must name at least one (the model's own validator enforces it).
    AT_LEAST_ONE_OF: ClassVar[tuple[str, ...]] = ()

    @field_validator("*", mode="before")
    @classmethod
    def _no_hidden_characters(cls, value: Any) -> Any:
        if isinstance(value, str):
            refuse_hidden_characters(value)
        return value


T = TypeVar("T")


class Success(Schema, Generic[T]):
    success: bool = True
    data: T


# Every code the API answers with (the contract's table, plus 405 for a known path's unknown method).
ErrorCode = Literal[
    "VALIDATION_ERROR",
    "UNAUTHORIZED",
    "FORBIDDEN",
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "CONFLICT",
    "IDEMPOTENCY_IN_PROGRESS",
    "PRECONDITION_FAILED",
    "IDEMPOTENCY_KEY_REUSED",
    "PRECONDITION_REQUIRED",
    "TOO_MANY_REQUESTS",
    "SERVICE_UNAVAILABLE",
    "INTERNAL_ERROR",
]


class ErrorEnvelope(Schema):
    """Every error answer, from the functions and from API Gateway's own gateway responses."""

    success: Literal[False] = False
    error: ErrorCode
    message: str = Field(description="A human sentence; reveals nothing internal")
    request_id: str = Field(description="Same as the X-Request-Id header")
    timestamp: str = Field(description="ISO-8601 UTC", examples=["2026-11-29T21:57:15.123Z"])
    field_errors: dict[str, list[str]] | None = Field(None, description="Per field (dotted path), what is wrong")
    details: dict[str, object] | None = None
    retry_after: int | None = Field(None, description="Seconds to wait (429 and 503), also in Retry-After")


_ERROR_DESCRIPTIONS = {
    400: "Validation error: malformed JSON, a field that breaks its rule, a bad `limit` or `next_token`",
    401: "Missing, expired or forged token",
    403: "Not yours to do, or the request was blocked by the stage's web application firewall",
    404: "No such resource, or one the caller may not see",
    409: "Conflicts with the resource's state, or a request with the same Idempotency-Key is still running",
    412: "If-Match names a version that is no longer current",
    413: "The request body is larger than 1 MB",
    415: "The request body is not JSON (Content-Type must be application/json)",
    422: "Idempotency-Key reused with a different request (body, method or path)",
    428: "If-Match is required for this update",
    429: "Rate limited or the database throttled; see Retry-After",
    500: "Unexpected error",
    503: "A dependency is unavailable; see Retry-After",
}
# Every route may answer these: the front door refuses bodies, the firewall (where the stage has
# one) blocks requests, throttling and outages happen anywhere.
_ALWAYS = (400, 403, 429, 500, 503)
_WITH_BODY = (413, 415)
RETRYABLE = (429, 503)

REQUEST_ID_HEADER: dict[str, Any] = {
    "description": (
        "The request's id: the client's own X-Request-Id when valid, else a new one. When API Gateway "
        "answers by itself (a refused token, stage throttling, the firewall, an oversized body) it can "
        "only echo the caller's header as sent, which may be empty or absent; the body's request_id "
        "and the x-amzn-RequestId header then carry the gateway's id."
    ),
    # No minLength: a gateway answer echoes whatever the caller sent, empty included.
    "schema": {"type": "string"},
}
RETRY_AFTER_HEADER: dict[str, Any] = {
    "description": "Seconds to wait before retrying",
    "schema": {"type": "string", "pattern": "^[0-9]+$", "examples": ["1"]},
}


def common_headers(status: int) -> dict[str, Any]:
    """Headers every answer of ``status`` carries."""
    headers: dict[str, Any] = {"X-Request-Id": dict(REQUEST_ID_HEADER)}
    if status in RETRYABLE:
        headers["Retry-After"] = dict(RETRY_AFTER_HEADER)
    return headers


def error_response(status: int, description: str | None = None) -> OpenAPIResponse:
    return {
        "description": description or _ERROR_DESCRIPTIONS[status],
        "headers": common_headers(status),
        "content": {"application/json": {"model": ErrorEnvelope}},
    }


def responses(
    status: int, model: type[BaseModel] | None, *error_statuses: int, body: bool = False
) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses of a route: its success body and every error envelope it can return
    (``body``: the route reads a request body, so it can refuse one as too large or not JSON)."""
    documented: dict[int, OpenAPIResponse] = {}
    if model is None:
        documented[status] = {"description": "No content", "headers": common_headers(status)}
    else:
        documented[status] = {
            "description": "Success",
            "headers": common_headers(status),
            "content": {"application/json": {"model": model}},
        }
    for error_status in sorted({*_ALWAYS, *error_statuses, *(_WITH_BODY if body else ())}):
        documented[error_status] = error_response(error_status)
    return documented


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def selection_of(model: type[BaseModel]) -> Any:
    """What a single-resource GET with ``fields=a,b`` answers (the contract's convention): any
    of ``model``'s top-level fields, none required. ``LoanOut`` gives ``LoanSelection``.
    Typed ``Any`` so that handlers can name it in a response annotation."""
    return create_model(  # type: ignore[call-overload]
        f"{model.__name__.removesuffix('Out')}Selection",
        __config__=ConfigDict(extra="forbid", defer_build=True),
        **{
            name: (field.annotation, Field(None, json_schema_extra=_no_default))
            for name, field in model.model_fields.items()
        },
    )
