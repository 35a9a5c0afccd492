"""Knowledge-base ingestion of an accepted document, checked by botocore's Stubber against the
bedrock-agent service model: the one object, by its S3 location, into the configured source."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from lendbridge.data.knowledge_base import BedrockKnowledgeBase


def test_an_accepted_document_is_ingested_from_its_s3_location() -> None:
    agent = boto3.client("bedrock-agent", region_name="us-east-1")
    with Stubber(agent) as stubber:
        stubber.add_response(
            "ingest_knowledge_base_documents",
            {
                "documentDetails": [
                    {
                        "knowledgeBaseId": "KB12345678",
                        "dataSourceId": "DS12345678",
                        "status": "STARTING",
                        "identifier": {
                            "dataSourceType": "S3",
                            "s3": {"uri": "s3://documents-bucket/documents/b-1/d-1"},
                        },
                    }
                ]
            },
            {
                "knowledgeBaseId": "KB12345678",
                "dataSourceId": "DS12345678",
                "documents": [
                    {
                        "content": {
                            "dataSourceType": "S3",
                            "s3": {"s3Location": {"uri": "s3://documents-bucket/documents/b-1/d-1"}},
                        }
                    }
                ],
            },
        )
        BedrockKnowledgeBase(agent, "KB12345678", "DS12345678", "documents-bucket").ingest("documents/b-1/d-1")
        stubber.assert_no_pending_responses()
