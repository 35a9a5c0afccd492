"""The one price list every dollar figure of ``make bench`` comes from, and the client's reported
units priced with it.

Prices are AWS's public on-demand list prices for us-east-1 as in force on ``PRICES_AS_OF``
(DynamoDB on-demand since its 1 November 2024 reduction; Lambda arm64 first tier; API Gateway
REST API first tier). Change them here, with the date, and nowhere else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PRICES_AS_OF = "2026-11-30"
REGION = "us-east-1"

# DynamoDB on-demand, standard table class: dollars per request unit.
READ_REQUEST_UNIT = 0.125 / 1_000_000  # one strongly consistent read of up to 4 KB
WRITE_REQUEST_UNIT = 0.625 / 1_000_000  # one standard write of up to 1 KB
# Lambda on arm64: dollars per GB-second of duration, and per invocation.
LAMBDA_ARM64_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000
# API Gateway REST API, first 333 million requests a month: dollars per request.
API_GATEWAY_REST_REQUEST = 3.50 / 1_000_000

# The API functions' configured memory (lendbridge_infra/function.py ``memory_mb`` default).
FUNCTION_MEMORY_MB = 512
# Lambda bills duration rounded up to the millisecond.
_BILLED_MS = 1.0


@dataclass(frozen=True)
class Units:
    """What one request consumes."""

    read_units: float  # DynamoDB read request units
    write_units: float  # DynamoDB write request units
    duration_ms: float  # Lambda duration


@dataclass(frozen=True)
class Dollars:
    dynamodb: float
    lambda_: float
    api_gateway: float

    @property
    def total(self) -> float:
        return self.dynamodb + self.lambda_ + self.api_gateway

    @property
    def design(self) -> float:
        """The part a design can change: everything but API Gateway's flat fee per request,
        which is the same for every design behind a REST API."""
        return self.dynamodb + self.lambda_


def per_request(units: Units, memory_mb: int = FUNCTION_MEMORY_MB) -> Dollars:
    billed_ms = math.ceil(units.duration_ms / _BILLED_MS) * _BILLED_MS
    gb_seconds = billed_ms / 1000 * memory_mb / 1024
    return Dollars(
        dynamodb=units.read_units * READ_REQUEST_UNIT + units.write_units * WRITE_REQUEST_UNIT,
        lambda_=gb_seconds * LAMBDA_ARM64_GB_SECOND + LAMBDA_REQUEST,
        api_gateway=API_GATEWAY_REST_REQUEST,
    )


def per_thousand(dollars: float) -> float:
    return dollars * 1000


@dataclass(frozen=True)
class ClientReport:
    """A route as the client's reports describe it: their units and duration, and the price
    they quoted per 1,000 requests (on prices of their own, not this list)."""

    route: str
    case: str
    units: Units
    quoted_per_thousand: float


CLIENT_MY_LOANS = ClientReport(
    "GET /v1/loans/my-loans", "10 loans x 3 lenders", Units(13, 0, 145), quoted_per_thousand=0.12
)
CLIENT_ADD_10_LENDERS = ClientReport(
    "POST /v1/loans/{id}/lenders", "10 new lenders", Units(17, 15, 297), quoted_per_thousand=0.35
)
