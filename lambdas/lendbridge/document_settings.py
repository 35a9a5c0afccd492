"""The bookings module's document and extraction settings, read from a function's environment
(set by the bookings stack). A leaf module: the health probe reads it without the wiring."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentSettings:
    bucket: str
    extraction_queue_url: str
    # "bedrock" in AWS, "local" on the local stack (lendbridge_infra.config validates it)
    reader_kind: str
    model_id: str
    knowledge_base_id: str
    data_source_id: str
    # The extraction queue's maxReceiveCount: the receive after which a failure is final.
    extraction_max_receives: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DocumentSettings:
        source = os.environ if env is None else env
        return cls(
            bucket=source.get("DOCUMENTS_BUCKET", ""),
            extraction_queue_url=source.get("EXTRACTION_QUEUE_URL", ""),
            reader_kind=source.get("READER_KIND", "local"),
            model_id=source.get("MODEL_ID", ""),
            knowledge_base_id=source.get("KNOWLEDGE_BASE_ID", ""),
            data_source_id=source.get("DATA_SOURCE_ID", ""),
            extraction_max_receives=int(source.get("EXTRACTION_MAX_RECEIVES", "3")),
        )
