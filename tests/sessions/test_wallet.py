"""Wallet proofs (mockchats.sessions.wallet): EIP-191 personal_sign signatures recovered for
real, refused in words on anything malformed, and a throwaway Wallet that signs them."""
from __future__ import annotations

import subprocess
import sys

import pytest

from mockchats.sessions.wallet import BadSignature, Wallet, is_address, load_eth_account, recover, signature_bytes

# Through the mock's own loader: imported plainly, eth-account (py_ecc) would raise this test
# process's recursion limit to 100,000, and a deep JSON body served in-process would crash it.
Account, encode_defunct = load_eth_account()

# eth-account's documented example: this key's personal_sign of "I♥SF".
DOC_KEY = "0xb25c7db31feed9122727bf0939dc769a96564b2de4c4726d035b36ecf1e5b364"
DOC_ADDRESS = "0x5ce9454909639D2D17A3F753ce7d93fa0b9aB12E"
DOC_MESSAGE = "I♥SF"
DOC_SIGNATURE = ("0xe6ca9bba58c88611fad66a6ce8f996908195593807c4b38bd528d2cff09d4eb3"
                 "3e5bfbbf4d3e39b1a2fd816a7680c19ebebaf3a141b239934ad43cb33fcec8ce1c")
MESSAGE = "Sign this message to prove you own this wallet. Nonce: 482913"


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet()


def test_a_published_signature_recovers_its_address():
    assert recover(DOC_MESSAGE, DOC_SIGNATURE) == DOC_ADDRESS


def test_a_known_key_makes_the_published_signature():
    wallet = Wallet(DOC_KEY)
    assert wallet.address == DOC_ADDRESS
    assert wallet.sign(DOC_MESSAGE) == DOC_SIGNATURE
    assert Wallet(bytes.fromhex(DOC_KEY[2:])).address == DOC_ADDRESS
    assert Wallet(wallet.private_key).address == DOC_ADDRESS


def test_a_wallet_signs_what_eth_account_recovers(wallet):
    signature = wallet.sign(MESSAGE)
    assert signature.startswith("0x") and len(signature) == 2 + 130
    assert int(signature[-2:], 16) in (27, 28)
    assert Account.recover_message(encode_defunct(text=MESSAGE), signature=signature) == wallet.address
    assert recover(MESSAGE, signature) == wallet.address


def test_a_signature_made_by_eth_account_directly_recovers(wallet):
    account = Account.create()
    signed = Account.sign_message(encode_defunct(text=MESSAGE), account.key)
    assert recover(MESSAGE, "0x" + bytes(signed.signature).hex()) == account.address


def test_a_new_wallet_is_new_and_checksummed():
    first, second = Wallet(), Wallet()
    assert first.address != second.address
    for wallet in (first, second):
        assert is_address(wallet.address)
        assert wallet.address == Account.from_key(wallet.private_key).address  # EIP-55, as eth-account writes it
        assert wallet.address != wallet.address.lower() or wallet.address[2:].isdigit()
    assert repr(first) == f"Wallet({first.address})"


def test_another_message_recovers_another_address(wallet):
    signature = wallet.sign(MESSAGE)
    assert recover(MESSAGE + " ", signature) != wallet.address


def test_v_may_be_the_bare_recovery_id(wallet):
    signature = wallet.sign(MESSAGE)
    v = int(signature[-2:], 16)
    assert recover(MESSAGE, signature[:-2] + f"{v - 27:02x}") == wallet.address


def test_the_hex_may_be_upper_case_or_without_its_prefix(wallet):
    signature = wallet.sign(MESSAGE)
    assert recover(MESSAGE, "0X" + signature[2:].upper()) == wallet.address
    assert recover(MESSAGE, signature[2:]) == wallet.address


def test_unicode_messages_sign_and_recover(wallet):
    for message in ("", "😀 ünïcödé", "line\nbreak", "x" * 10_000):
        assert recover(message, wallet.sign(message)) == wallet.address


def test_signature_bytes_normalises_v():
    raw = bytes(range(1, 65))
    assert signature_bytes("0x" + (raw + b"\x00").hex())[-1] == 27
    assert signature_bytes("0x" + (raw + b"\x01").hex())[-1] == 28
    assert signature_bytes("0x" + (raw + b"\x1c").hex()) == raw + b"\x1c"


@pytest.mark.parametrize("signature, reason", [
    (None, "missing"),
    ("", "missing"),
    (12, "missing"),
    ("0x", "not 65 bytes"),
    ("0xzz" + "00" * 64, "not hex"),
    ("0x" + "ab" * 64, r"not 65 bytes \(64 bytes given\)"),
    ("0x" + "ab" * 66, r"not 65 bytes \(66 bytes given\)"),
    ("0x" + "ab" * 64 + "1", "and a half"),
    ("0x" + "ab" * 64 + "05", "v is 5"),
    ("0x" + "ab" * 64 + "25", "v is 37"),  # EIP-155 transaction v: not a message signature
    ("0x" + "00" * 64 + "1b", "not a valid secp256k1 signature"),  # r = s = 0
    ("0x" + "ff" * 64 + "1b", "not a valid secp256k1 signature"),  # r, s past the curve's order
    (" 0x" + "ab" * 65, "not hex"),
])
def test_a_malformed_signature_is_refused_with_a_reason(signature, reason):
    with pytest.raises(BadSignature, match=reason) as refused:
        recover(MESSAGE, signature)
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize("message, reason", [
    (None, "not text"),
    (b"bytes", "not text"),
    ("\ud800", "not valid Unicode"),  # a lone surrogate, as a JSON "\ud800" escape gives
])
def test_a_message_that_is_no_text_is_refused(wallet, message, reason):
    with pytest.raises(BadSignature, match=reason):
        recover(message, wallet.sign("x"))


@pytest.mark.parametrize("text, ok", [
    ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", True),
    ("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", True),
    ("0X5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", True),
    ("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", False),
    ("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae", False),
    ("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaedd", False),
    ("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg", False),
    ("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\n", False),
    ("", False),
    (None, False),
])
def test_what_an_address_is(text, ok):
    assert is_address(text) is ok


def test_eth_account_loads_only_when_first_needed():
    script = ("import sys\nimport mockchats.sessions.wallet as w\nimport mockchats.sessions.models\n"
              "assert 'eth_account' not in sys.modules, 'loaded on import'\n"
              "w.is_address('0x' + '0' * 40)\nassert 'eth_account' not in sys.modules\n"
              "try:\n    w.recover('m', '0x00')\nexcept w.BadSignature:\n    pass\n"
              "assert 'eth_account' not in sys.modules, 'loaded to refuse a malformed signature'\n"
              "w.Wallet()\nassert 'eth_account' in sys.modules\n")
    subprocess.run([sys.executable, "-c", script], check=True)


def test_the_package_offers_the_wallet_by_name():
    # The partner kit: `from mockchats import Wallet`, loaded on first use like every public name.
    from mockchats import Wallet as Exported

    wallet = Exported()
    message = "Sign this message to prove you own this wallet. Nonce: 7"
    assert Exported is Wallet
    assert recover(message, wallet.sign(message)) == wallet.address


def test_loading_eth_account_leaves_the_recursion_limit_alone():
    # py_ecc raises it to 100,000 at import; a JSON body nested that deep would then overflow
    # the C stack and kill the serving process instead of being refused.
    script = ("import sys; from mockchats.sessions.wallet import Wallet; before = sys.getrecursionlimit(); "
              "Wallet().sign('x'); import eth_account; print(before, sys.getrecursionlimit())")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == out[1] == "1000"
