"""The callback crypto DingTalk and WeCom share ("WXBizMsgCrypt").

* signature: SHA-1 hex of the byte-wise sorted strings ``[token, timestamp, nonce, encrypt]``
  joined without a separator;
* cipher: AES-256-CBC, key = ``base64decode(EncodingAESKey + "=")`` (43 characters give 32
  bytes), IV = the key's first 16 bytes, PKCS#7 padding to a **32-byte** block;
* plaintext: 16 random bytes | message length (uint32, big-endian) | message | receive id, where
  the receive id is the DingTalk AppKey/CorpId/SuiteKey or the WeCom CorpID: a message sealed for
  someone else is refused even when its signature is right.

Everything here works on what the sender sent, before any of it is parsed; malformed input raises
:class:`~expense_sync.webhooks.errors.Rejected`, never anything else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from expense_sync.webhooks.errors import bad_request, unauthorized

BLOCK = 32  # the PKCS#7 block both vendors pad to (not AES's 16)
MAX_ENCRYPT_CHARS = 1 << 20


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key from a 43-character EncodingAESKey; ValueError when it is not one."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the EncodingAESKey is not base64") from None
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise ValueError("the EncodingAESKey must be 43 characters (32 bytes)")
    return key


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    parts = sorted(s.encode() for s in (token, timestamp, nonce, encrypt))
    return hashlib.sha1(b"".join(parts)).hexdigest()


class MsgCrypt:
    """Verify, decrypt and encrypt callback messages for one token, key and receive id."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.key = decode_aes_key(encoding_aes_key)
        self.receive_id = receive_id.encode()

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def check_signature(self, given: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = signature(self.token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
            raise unauthorized("bad signature")

    def decrypt(self, encrypt: str) -> bytes:
        """The message inside ``encrypt``; refuses padding, length or receive-id errors."""
        if len(encrypt) > MAX_ENCRYPT_CHARS:
            raise bad_request("encrypted message too long")
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request("encrypted message is not base64") from None
        if not data or len(data) % BLOCK:
            raise bad_request("encrypted message has a bad length")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise bad_request("cannot decrypt (bad padding)")
        content = plain[16:-pad]
        if len(content) < 4:
            raise bad_request("cannot decrypt (too short)")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise bad_request("cannot decrypt (bad length)")
        message, receive_id = content[4 : 4 + length], content[4 + length :]
        if not hmac.compare_digest(receive_id, self.receive_id):
            raise unauthorized("message sealed for another receiver")
        return message

    def encrypt(self, message: bytes) -> str:
        plain = os.urandom(16) + struct.pack(">I", len(message)) + message + self.receive_id
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return signature(self.token, timestamp, nonce, encrypt)
