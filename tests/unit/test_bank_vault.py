"""Bank numbers are sealed with KMS, bound to their loan and participant."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from lendbridge.data.bank_vault import KmsBankVault
from lendbridge.domain.loans import AchDetails
from lendbridge.errors import DependencyUnavailable

ACH = AchDetails("Grace", "011000015", "000123456789", "checking")


def test_sealed_numbers_decrypt_only_with_their_context() -> None:
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        sealed = KmsBankVault(kms, key).seal("loan-1", "part-1", ACH)
        assert b"000123456789" not in sealed.ciphertext
        context = {"loan_id": "loan-1", "participant_id": "part-1", "purpose": "bank-account"}
        plaintext = kms.decrypt(CiphertextBlob=sealed.ciphertext, EncryptionContext=context)["Plaintext"]
        assert json.loads(plaintext) == {"routing_number": "011000015", "account_number": "000123456789"}
        with pytest.raises(kms.exceptions.InvalidCiphertextException):
            kms.decrypt(CiphertextBlob=sealed.ciphertext, EncryptionContext={**context, "participant_id": "x"})


def test_a_kms_failure_is_a_retryable_unavailability() -> None:
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")
        with pytest.raises(DependencyUnavailable):
            KmsBankVault(kms, "alias/missing").seal("loan-1", "part-1", ACH)
