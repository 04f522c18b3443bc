"""KMS keys whose signing key pair is made when it is first used, not when the key is created.

moto gives every KMS key a private key for ``Sign``/``Verify``/``GetPublicKey`` as it creates it, and for a
symmetric key (every key this stack creates: the buckets', queues' and ledger's encryption keys) that is a new
2048-bit RSA key pair: 20-200 ms of CPU for a prime search, a few per cent of a chaos seed, for a key pair
nothing ever reads (AWS refuses ``Sign`` with a symmetric key). Here ``Key.private_key`` is a stand-in that
makes the same key pair (moto's own ``generate_private_key`` for the key's spec) on its first use, so every
answer that reads it is the one moto gives; only when the CPU is spent changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any


class DeferredPrivateKey:
    """moto's private key for ``key_spec``, made on the first attribute read (``sign``, ``verify``,
    ``public_key``, ``private_key``, ``key_size``...)."""

    __slots__ = ("_key", "_key_spec", "_lock", "_make")

    def __init__(self, make: Callable[[str], Any], key_spec: str):
        self._make, self._key_spec, self._key, self._lock = make, key_spec, None, threading.Lock()

    @property
    def made(self) -> bool:
        return self._key is not None

    def _real(self) -> Any:
        with self._lock:
            if self._key is None:
                self._key = self._make(self._key_spec)
            return self._key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)


def install(stack: ExitStack, replace: Callable[[ExitStack, Any, str, Any], None]) -> None:
    """Defer key pairs in ``moto.kms.models`` until ``stack`` closes. (moto's generator refuses no spec: it
    falls back to RSA 2048 for any spec it has no pair for, so nothing it would raise at creation moves.)"""
    import moto.kms.models as kms_models

    make = kms_models.generate_private_key  # type: ignore[attr-defined]
    replace(stack, kms_models, "generate_private_key", lambda key_spec: DeferredPrivateKey(make, key_spec))
