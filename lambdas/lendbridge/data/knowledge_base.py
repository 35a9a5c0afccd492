"""A stage's Bedrock knowledge base, when it has one: each accepted document is ingested into
the knowledge base's S3 data source straight from the documents bucket (no copy), with
IngestKnowledgeBaseDocuments, which takes named documents instead of re-syncing the source."""

from __future__ import annotations

from typing import Any


class BedrockKnowledgeBase:
    def __init__(self, agent: Any, knowledge_base_id: str, data_source_id: str, bucket: str) -> None:
        self._agent = agent
        self._knowledge_base_id = knowledge_base_id
        self._data_source_id = data_source_id
        self._bucket = bucket

    def ingest(self, key: str) -> None:
        self._agent.ingest_knowledge_base_documents(
            knowledgeBaseId=self._knowledge_base_id,
            dataSourceId=self._data_source_id,
            documents=[
                {"content": {"dataSourceType": "S3", "s3": {"s3Location": {"uri": f"s3://{self._bucket}/{key}"}}}}
            ],
        )
