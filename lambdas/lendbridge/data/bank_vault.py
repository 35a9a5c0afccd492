"""Bank account numbers, encrypted with KMS before they reach any table.

One Encrypt call seals both numbers, bound by encryption context to the loan and participant
they belong to, so a ciphertext copied onto another record will not decrypt.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from lendbridge.domain.loans import AchDetails, SealedBankAccount
from lendbridge.errors import EncryptionUnavailable

_RETRY_AFTER = 5


class KmsBankVault:
    def __init__(self, client: Any, key_id: str) -> None:
        self._client = client
        self._key_id = key_id

    def seal(self, loan_id: str, participant_id: str, ach: AchDetails) -> SealedBankAccount:
        plaintext = json.dumps({"routing_number": ach.routing_number, "account_number": ach.account_number})
        try:
            response = self._client.encrypt(
                KeyId=self._key_id,
                Plaintext=plaintext.encode(),
                EncryptionContext={"loan_id": loan_id, "participant_id": participant_id, "purpose": "bank-account"},
            )
        except ClientError as error:
            # The error never carries the plaintext; only its code is kept.
            raise EncryptionUnavailable("Encryption service unavailable", retry_after=_RETRY_AFTER) from error
        return SealedBankAccount(
            participant_id=participant_id, ciphertext=response["CiphertextBlob"], key_id=response["KeyId"]
        )
