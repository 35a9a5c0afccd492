"""Table and index names shared by the data layer and the CDK stacks that declare them.

Plain constants and no imports: the CDK app reads this module without loading boto3 or any
other part of the Lambda code, and a renamed index changes both sides in one place.
"""

from __future__ import annotations

# Construct ids of the tables (the data stack's logical names; the local stack and the tests
# find each table by them). Their physical names reach the functions as environment variables.
MAIN_TABLE = "MainTable"
AUDIT_TABLE = "AuditTable"
IDEMPOTENCY_TABLE = "IdempotencyTable"

PK, SK = "PK", "SK"

# The main table's global secondary indexes and their key attributes.
BORROWER_COLLECTION = "borrower-collection"  # GSI1: a borrower's loans, each with its participants' roster
LENDER_INVITATIONS = "lender-invitations"  # GSI2: a lender's (or an invitee's) participations
PARTICIPANT_BY_ID = "participant-by-id"  # GSI4: participant id -> its loan, keys only

INDEX_KEYS: dict[str, tuple[str, str | None]] = {
    BORROWER_COLLECTION: ("GSI1PK", "GSI1SK"),
    LENDER_INVITATIONS: ("GSI2PK", "GSI2SK"),
    PARTICIPANT_BY_ID: ("GSI4PK", None),
}

# Powertools idempotency's record layout (its defaults): key attribute and expiry.
IDEMPOTENCY_KEY = "id"
IDEMPOTENCY_EXPIRY = "expiration"

# Rate-limit counters: one item per subject and window (key attribute PK), expiring by TTL.
RATE_LIMIT_TABLE = "RateLimitTable"
RATE_LIMIT_HITS = "hits"
RATE_LIMIT_EXPIRY = "expires_at"

# The documents bucket (commercial loan bookings): every object key starts with this prefix
# (documents/{booking_id}/{document_id}); an upload arrives tagged unverified (its presigned PUT
# signs the tag) until the upload worker accepts it; lifecycle expires what stays unverified.
DOCUMENT_PREFIX = "documents/"
UNVERIFIED_TAG_KEY = "upload"
UNVERIFIED_TAG_VALUE = "unverified"

# Webhooks (stacks/webhooks_stack.py): subscriptions, recorded attempts (expiring) and who may
# see each loan's events, in a table of their own.
WEBHOOKS_TABLE = "WebhooksTable"
WEBHOOKS_EXPIRY = "expires_at"
