"""The bookings API's document storage and extraction queue: their clients are made by the
first call that needs one, and every call reaches the real adapter unchanged."""

from __future__ import annotations

from typing import Any

from lendbridge.domain.ports import PresignedUpload, StoredObject
from lendbridge.wiring.documents import QueueOnFirstUse, StorageOnFirstUse


class Recording:
    """Stands for the S3 storage and the SQS queue: records each call and answers it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def presign_put(self, *args: Any) -> PresignedUpload:
        self.calls.append(("presign_put", args))
        return PresignedUpload(url="https://put", headers={"Content-Type": "application/pdf"}, expires_in=900)

    def presign_get(self, *args: Any) -> str:
        self.calls.append(("presign_get", args))
        return "https://get"

    def delete(self, *args: Any) -> None:
        self.calls.append(("delete", args))

    def head(self, *args: Any) -> StoredObject | None:
        self.calls.append(("head", args))
        return None

    def read(self, *args: Any) -> bytes:
        self.calls.append(("read", args))
        return b"%PDF"

    def enqueue(self, *args: Any) -> None:
        self.calls.append(("enqueue", args))


def test_nothing_is_built_until_a_call_needs_it_then_once() -> None:
    built: list[Recording] = []

    def build() -> Recording:
        built.append(Recording())
        return built[-1]

    storage, queue = StorageOnFirstUse(build), QueueOnFirstUse(build)
    assert built == []

    storage.head("documents/b/d")
    storage.delete("documents/b/d")
    queue.enqueue("b", "d", "e")
    assert len(built) == 2  # one storage, one queue, each made once


def test_every_call_reaches_the_adapter_with_its_arguments_and_answer() -> None:
    real = Recording()
    storage, queue = StorageOnFirstUse(lambda: real), QueueOnFirstUse(lambda: real)

    assert storage.presign_put("k", "application/pdf", 10, 900).url == "https://put"
    assert storage.presign_get("k", 300) == "https://get"
    assert storage.head("k") is None
    assert storage.read("k") == b"%PDF"
    storage.delete("k")
    queue.enqueue("b", "d", "e")
    assert real.calls == [
        ("presign_put", ("k", "application/pdf", 10, 900)),
        ("presign_get", ("k", 300)),
        ("head", ("k",)),
        ("read", ("k",)),
        ("delete", ("k",)),
        ("enqueue", ("b", "d", "e")),
    ]
