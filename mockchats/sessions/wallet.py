"""Wallet proofs for real: EIP-191 ``personal_sign`` signatures, recovered with eth-account.

:func:`recover` is what the Session API's verify does with a signature; :class:`Wallet` is the
other side, a throwaway key a partner's test signs with (``from mockchats import Wallet``).

eth-account is imported on first use, never with this module: it costs over a second to import
(its key-file and BLS dependencies), which neither the pytest plugin nor a mock that never sees
a wallet should pay.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

#: An Ethereum address as text: 0x and 20 bytes of hex, in any letter case.
ADDRESS = re.compile(r"0[xX][0-9a-fA-F]{40}")
_HEX = re.compile(r"[0-9a-fA-F]*")
SIGNATURE_BYTES = 65


class BadSignature(ValueError):
    """The signature cannot be recovered; the text says why, in words a partner can act on."""


def is_address(text: object) -> bool:
    """Whether ``text`` is an Ethereum address (0x and 40 hex digits, any case)."""
    return isinstance(text, str) and ADDRESS.fullmatch(text) is not None


def signature_bytes(signature: object) -> bytes:
    """The 65 bytes of a 0x-hex signature (r, s, v), ``v`` made 27 or 28; BadSignature otherwise.

    ``v`` may be 27/28 (Ethereum's personal_sign) or 0/1 (the bare recovery id some signers
    write); the ``0x`` prefix may be left out.
    """
    if not isinstance(signature, str) or not signature:
        raise BadSignature("the signature is missing")
    digits = signature[2:] if signature[:2] in ("0x", "0X") else signature
    if not _HEX.fullmatch(digits):
        raise BadSignature("the signature is not hex")
    if len(digits) != 2 * SIGNATURE_BYTES:
        raise BadSignature(f"the signature is not {SIGNATURE_BYTES} bytes "
                           f"({len(digits) // 2}{' and a half' if len(digits) % 2 else ''} bytes given)")
    raw = bytes.fromhex(digits)
    v = raw[-1]
    if v in (0, 1):
        v += 27
    if v not in (27, 28):
        raise BadSignature(f"the signature's v is {raw[-1]}: 27 or 28 (or 0 or 1) is expected")
    return raw[:-1] + bytes([v])


def recover(message: str, signature: str) -> str:
    """The address (checksummed) whose key made ``signature``, an EIP-191 personal_sign of the
    text ``message``. Raises :class:`BadSignature` (a ValueError) when it cannot be recovered."""
    raw = signature_bytes(signature)
    if not isinstance(message, str):
        raise BadSignature("the message is not text")
    try:
        data = message.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON "\ud800" escape
        raise BadSignature("the message is not valid Unicode text") from None
    Account, encode_defunct = load_eth_account()
    try:
        return Account.recover_message(encode_defunct(primitive=data), signature=raw)
    except Exception:  # eth-keys and eth-utils raise their own types (BadSignature, ValidationError)
        # r or s zero or past the curve's order: 65 bytes that no key could have made.
        raise BadSignature("the signature is not a valid secp256k1 signature") from None


def load_eth_account() -> tuple[Any, Callable[..., Any]]:
    """eth-account's ``Account`` and ``encode_defunct``, imported on first use (see the module's
    docstring), with the process's recursion limit as it was.

    Importing it imports py_ecc, which raises the limit to 100,000 for the whole process: a JSON
    body nested that deep would then overflow the C stack and kill the server (or a partner's
    test run, with the mock in it) instead of raising RecursionError and being answered 400.
    """
    limit = sys.getrecursionlimit()
    try:
        from eth_account import Account  # on first use: about a second to import
        from eth_account.messages import encode_defunct
    finally:
        sys.setrecursionlimit(limit)
    return Account, encode_defunct


class Wallet:
    """A throwaway Ethereum key for tests: its ``address`` and its ``sign(message)``.

    ``Wallet()`` makes a new random key; ``Wallet(private_key)`` (32 bytes, or 0x-hex) uses
    a known one. Never use it for a wallet that holds anything.
    """

    def __init__(self, private_key: str | bytes | None = None):
        Account, _ = load_eth_account()
        account = Account.create() if private_key is None else Account.from_key(private_key)
        self._account = account
        self.address: str = account.address
        """The address, checksummed (EIP-55), as wallets show it."""

    @property
    def private_key(self) -> str:
        """The key as 0x-hex, to make the same wallet again."""
        return "0x" + bytes(self._account.key).hex()

    def sign(self, message: str) -> str:
        """The EIP-191 personal_sign of ``message`` as 0x-hex (65 bytes, ``v`` 27 or 28), as a
        wallet's ``personal_sign`` answers it."""
        _, encode_defunct = load_eth_account()
        signed = self._account.sign_message(encode_defunct(text=message))
        return "0x" + bytes(signed.signature).hex()

    def __repr__(self) -> str:
        return f"Wallet({self.address})"
