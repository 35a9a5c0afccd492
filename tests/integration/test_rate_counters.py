"""The rate-limit counter on DynamoDB Local: exact under concurrency, one UpdateItem per request,
keyed per window, expiring by TTL; a throttled or unreachable table makes the limiter blind."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config

from lendbridge.data.rate_counters import DynamoRateCounters
from lendbridge.domain.rate_limits import CounterUnavailable, Limit, Policy, RateLimiter, Subject
from lendbridge.wiring.rate_limits import COUNTER_CONFIG
from local.dynamodb_local import DynamoDBLocal
from tests.integration.faults import failing

LIMIT = 60
THREADS = 16


@pytest.fixture
def counters_client(dynamodb_local: DynamoDBLocal, tables: dict[str, str]) -> Any:
    """A client with the limiter's own configuration (short timeouts, one retry), one per test:
    every thread of a test shares it, as the function's threads do."""
    return boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_local.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=COUNTER_CONFIG.merge(Config(read_timeout=10, max_pool_connections=THREADS)),
    )


@pytest.fixture
def limiter(counters_client: Any, tables: dict[str, str]) -> RateLimiter:
    policy = Policy(Limit(LIMIT, 60), Limit(10, 60), Limit(30, 60), Limit(10, 900))
    return RateLimiter(policy, DynamoRateCounters(counters_client, tables["RateLimitTable"]), str, time.time)


def test_concurrent_requests_from_threads_get_exactly_the_limit(limiter: RateLimiter) -> None:
    subject = Subject("caller", f"user-{uuid.uuid4()}", Limit(LIMIT, 3600))  # one window for the whole test
    start = threading.Barrier(THREADS)

    def one(_: int) -> bool:
        if _ < THREADS:
            start.wait()
        return limiter.check(subject).allowed

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        verdicts = list(pool.map(one, range(LIMIT + 25)))
    assert verdicts.count(True) == LIMIT
    assert verdicts.count(False) == 25


def test_each_request_sees_its_own_count(counters_client: Any, tables: dict[str, str]) -> None:
    counters = DynamoRateCounters(counters_client, tables["RateLimitTable"])
    key = f"caller#{uuid.uuid4()}#0"
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(lambda _: counters.hit(key, 120), range(40)))
    assert sorted(counts) == list(range(1, 41))


def test_the_counter_item_holds_the_count_and_its_expiry_only(
    limiter: RateLimiter, counters_client: Any, tables: dict[str, str]
) -> None:
    user = f"user-{uuid.uuid4()}"
    for _ in range(3):
        verdict = limiter.check(Subject("caller", user, Limit(LIMIT, 60)))
    assert verdict.remaining == LIMIT - 3
    items = counters_client.scan(
        TableName=tables["RateLimitTable"],
        FilterExpression="begins_with(PK, :p)",
        ExpressionAttributeValues={":p": {"S": f"caller#{user}#"}},
        ConsistentRead=True,
    )["Items"]
    assert len(items) == 1
    (item,) = items
    window_start = int(item["PK"]["S"].rsplit("#", 1)[1])
    assert window_start % 60 == 0
    assert item == {
        "PK": {"S": f"caller#{user}#{window_start}"},
        "hits": {"N": "3"},
        "expires_at": {"N": str(window_start + 60 + 60)},
    }


def test_one_update_and_one_write_unit_per_request(counters_client: Any, tables: dict[str, str]) -> None:
    calls: list[str] = []
    counters_client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    answer = counters_client.update_item(
        TableName=tables["RateLimitTable"],
        Key={"PK": {"S": f"caller#{uuid.uuid4()}#0"}},
        UpdateExpression="ADD hits :one SET expires_at = if_not_exists(expires_at, :e)",
        ExpressionAttributeValues={":one": {"N": "1"}, ":e": {"N": "120"}},
        ReturnValues="UPDATED_NEW",
        ReturnConsumedCapacity="TOTAL",
    )
    assert answer["ConsumedCapacity"]["CapacityUnits"] == 1.0
    calls.clear()
    DynamoRateCounters(counters_client, tables["RateLimitTable"]).hit(f"caller#{uuid.uuid4()}#0", 120)
    assert calls == ["UpdateItem"]


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError"]
)
def test_a_throttled_or_failing_table_makes_the_limiter_blind(
    limiter: RateLimiter, counters_client: Any, code: str
) -> None:
    status = 500 if code == "InternalServerError" else 400
    with failing(counters_client, "UpdateItem", code, status) as attempts:
        verdict = limiter.check(Subject("caller", "user-x", Limit(LIMIT, 60)))
    assert (verdict.allowed, verdict.blind) == (True, True)
    assert len(attempts) == 2, "the limiter's client tries twice, then gives up"


def test_an_unreachable_table_makes_the_counter_unavailable() -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=COUNTER_CONFIG,
    )
    with pytest.raises(CounterUnavailable):
        DynamoRateCounters(client, "anything").hit("caller#u#0", 120)
