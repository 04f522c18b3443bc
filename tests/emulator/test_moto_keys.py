"""``emulator/moto_keys.py``: creating the stack's symmetric keys makes no RSA key pair; a key that signs still
signs, verifies and shows its public key as moto alone does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from moto import mock_aws

from landing_pipeline.emulator import moto_speedups


@pytest.fixture
def pairs_made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every RSA or EC key pair generated while the test runs (by moto or anything else)."""
    made: list[str] = []
    real_rsa, real_ec = rsa.generate_private_key, ec.generate_private_key

    def counted_rsa(*args: Any, **kwargs: Any) -> Any:
        made.append("rsa")
        return real_rsa(*args, **kwargs)

    def counted_ec(*args: Any, **kwargs: Any) -> Any:
        made.append("ec")
        return real_ec(*args, **kwargs)

    monkeypatch.setattr(rsa, "generate_private_key", counted_rsa)
    monkeypatch.setattr(ec, "generate_private_key", counted_ec)
    yield made


def test_symmetric_keys_make_no_key_pair_and_still_encrypt(pairs_made: list[str]) -> None:
    with mock_aws(), moto_speedups.installed():
        kms = boto3.client("kms", region_name="eu-west-1")
        key_ids = [kms.create_key(Description=f"key {n}")["KeyMetadata"]["KeyId"] for n in range(4)]
        sealed = kms.encrypt(KeyId=key_ids[2], Plaintext=b"ledger")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=sealed)["Plaintext"] == b"ledger"
        assert kms.describe_key(KeyId=key_ids[0])["KeyMetadata"]["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert pairs_made == []


@pytest.mark.parametrize(("key_spec", "algorithm", "kind"), [
    ("RSA_2048", "RSASSA_PSS_SHA_256", "rsa"),
    ("ECC_NIST_P256", "ECDSA_SHA_256", "ec"),
])
def test_a_signing_key_signs_verifies_and_shows_its_public_key(pairs_made: list[str], key_spec: str,
                                                              algorithm: str, kind: str) -> None:
    with mock_aws(), moto_speedups.installed():
        kms = boto3.client("kms", region_name="eu-west-1")
        key_id = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec=key_spec)["KeyMetadata"]["KeyId"]
        assert pairs_made == []  # not yet: nothing has used it
        signature = kms.sign(KeyId=key_id, Message=b"run token", SigningAlgorithm=algorithm)["Signature"]
        assert kms.verify(KeyId=key_id, Message=b"run token", Signature=signature,
                          SigningAlgorithm=algorithm)["SignatureValid"]
        public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
        assert isinstance(public, rsa.RSAPublicKey if kind == "rsa" else ec.EllipticCurvePublicKey)
        # a real key pair: another message does not verify
        assert kms.verify(KeyId=key_id, Message=b"other", Signature=signature,
                          SigningAlgorithm=algorithm)["SignatureValid"] is False
    assert pairs_made == [kind]
