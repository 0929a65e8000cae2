"""The re-identification key: placeholder -> original value, only ever written encrypted.

A study may need to go back from ``[PERSON_1]`` to the person (a participant
withdraws, an auditor asks). The mapping is written only when asked for
(``transcode deid --key FILE``), as AES-256-GCM ciphertext under a key derived
from a passphrase with scrypt; the envelope is JSON so it can be inspected
without revealing anything. A wrong passphrase or a changed byte fails loudly.

New files use scrypt with N = 2^17, r = 8, p = 1 (OWASP's floor, 128 MiB); a file's own
parameters are bounded before use (at most 256 MiB of scrypt memory and 2^20 work), so a
crafted key file cannot take the machine's memory. The passphrase comes from the option, the
environment variable, or is typed at the terminal (never echoed, never in ``ps``).
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from transcode.errors import InputError
from transcode.files import atomic_writer
from transcode.transcript import Transcript

FORMAT = "transcode-deid-key"
VERSION = 1
PASSPHRASE_ENV = "TRANSCODE_KEY_PASSPHRASE"
_SCRYPT = {"n": 2**17, "r": 8, "p": 1}
_MIN_PASSPHRASE = 8
#: Bounds on a key file's scrypt parameters: N a power of two in [2^14, 2^20], r <= 32, p <= 16,
#: and scrypt's memory (128 * N * r bytes) at most 256 MiB.
_SCRYPT_N = (2**14, 2**20)
_SCRYPT_MAX_R, _SCRYPT_MAX_P = 32, 16
_SCRYPT_MAX_MEMORY = 256 * 2**20
#: The largest key file read: a mapping of a large study is a few MB.
_MAX_KEY_FILE = 64 * 2**20


def key_entry(result) -> dict[str, Any]:
    """What the key file holds for one de-identified transcript (a :class:`~transcode.deid.DeidResult`)."""
    return {
        "case": result.transcript.case,
        "placeholders": result.mapping(),
        "occurrences": [
            {"turn": r.turn, "field": r.field, "start": r.start, "end": r.end, "original": r.original}
            for r in result.replacements
        ],
    }


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _header(kdf: Mapping[str, Any]) -> bytes:
    """Authenticated with the ciphertext, so the envelope's parameters cannot be swapped."""
    return json.dumps({"format": FORMAT, "version": VERSION, "kdf": dict(kdf)}, sort_keys=True).encode()


def encrypt(document: Mapping[str, Any], passphrase: str) -> dict[str, Any]:
    check_passphrase(passphrase)
    salt, nonce = os.urandom(16), os.urandom(12)
    kdf = {"name": "scrypt", "salt": base64.b64encode(salt).decode(), **_SCRYPT}
    key = _derive(passphrase, salt, **_SCRYPT)
    plaintext = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, _header(kdf))
    return {
        "format": FORMAT,
        "version": VERSION,
        "kdf": kdf,
        "cipher": "AES-256-GCM",
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }


def decrypt(envelope: Mapping[str, Any], passphrase: str, source: str | None = None) -> dict[str, Any]:
    try:
        if envelope.get("format") != FORMAT or envelope.get("version") != VERSION:
            raise InputError(f"not a {FORMAT} version {VERSION} file", source)
        kdf = envelope["kdf"]
        if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
            raise InputError("malformed key file (kdf must be scrypt)", source)
        n, r, p = (_bounded_int(kdf[name], name, source) for name in ("n", "r", "p"))
        check_scrypt(n, r, p, source)
        salt = base64.b64decode(kdf["salt"], validate=True)
        if not 16 <= len(salt) <= 64:
            raise InputError("malformed key file (salt of 16 to 64 bytes expected)", source)
        key = _derive(passphrase, salt, n, r, p)
        plaintext = AESGCM(key).decrypt(
            base64.b64decode(envelope["nonce"]), base64.b64decode(envelope["ciphertext"]), _header(kdf)
        )
    except InvalidTag:
        raise InputError("wrong passphrase, or the key file was altered", source) from None
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"malformed key file ({err.__class__.__name__})", source) from None
    return json.loads(plaintext)


def _bounded_int(value: Any, name: str, source: str | None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(f"malformed key file (scrypt {name} must be an integer)", source)
    return value


def check_scrypt(n: int, r: int, p: int, source: str | None = None) -> None:
    """Refuse scrypt parameters outside the bounds before deriving anything (memory and time)."""
    low, high = _SCRYPT_N
    if not (low <= n <= high and n & (n - 1) == 0):
        raise InputError(f"key file asks for scrypt N={n}: a power of two from 2^14 to 2^20 is read", source)
    if not (1 <= r <= _SCRYPT_MAX_R and 1 <= p <= _SCRYPT_MAX_P):
        raise InputError(f"key file asks for scrypt r={r}, p={p}: outside 1-{_SCRYPT_MAX_R}, 1-16", source)
    if 128 * n * r > _SCRYPT_MAX_MEMORY:
        raise InputError(
            f"key file asks for {128 * n * r // 2**20} MiB of scrypt memory (at most 256 MiB is given)",
            source,
        )


def check_passphrase(passphrase: str | None, source: str | None = None) -> str:
    if not passphrase:
        raise InputError(
            f"--key needs a passphrase: --key-passphrase, the {PASSPHRASE_ENV} environment variable, "
            "or a terminal to type it at",
            source,
        )
    if len(passphrase) < _MIN_PASSPHRASE:
        raise InputError(f"key passphrase must be at least {_MIN_PASSPHRASE} characters", source)
    return passphrase


def ask_passphrase(*, confirm: bool, source: str | None = None) -> str:
    """Read the passphrase at the terminal, unechoed (twice for a new key file).

    Without a terminal (a script, CI) this is the one-line error that names the other two ways."""
    if not _terminal():
        return check_passphrase(None, source)
    try:
        first = getpass.getpass("key passphrase: ")
        if confirm and getpass.getpass("the same again: ") != first:
            raise InputError("the two passphrases differ", source)
    except EOFError:
        return check_passphrase(None, source)
    return check_passphrase(first, source)


def _terminal() -> bool:
    if sys.stdin is not None and sys.stdin.isatty():
        return True
    try:
        with open("/dev/tty"):
            return True
    except OSError:
        return False


def write_key_file(path: str | Path, entries: Mapping[str, Any], passphrase: str) -> None:
    """Encrypt ``{"files": entries}`` to ``path`` (atomically, readable by the owner only)."""
    envelope = encrypt({"files": dict(entries)}, passphrase)
    with atomic_writer(path) as fh:
        json.dump(envelope, fh, indent=2)


def read_key_file(path: str | Path, passphrase: str) -> dict[str, Any]:
    """The decrypted ``{"files": {file name: entry}}``; a wrong passphrase or damage is an InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError("key file not found" if not path.exists() else "not a file", str(path))
    if path.stat().st_size > _MAX_KEY_FILE:
        raise InputError("key file too large to be a transcode key", str(path))
    try:
        envelope = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InputError("key file is not a transcode key (not JSON)", str(path)) from None
    if not isinstance(envelope, dict):
        raise InputError("key file is not a transcode key", str(path))
    return decrypt(envelope, passphrase, str(path))


def reidentify(transcript: Transcript, entry: Mapping[str, Any]) -> Transcript:
    """Put the original values back into a de-identified transcript, using its key entry."""
    turns = list(transcript.turns)
    metadata = dict(transcript.metadata)
    by_field: dict[tuple[Any, str], list[Mapping[str, Any]]] = {}
    for occurrence in entry["occurrences"]:
        by_field.setdefault((occurrence["turn"], occurrence["field"]), []).append(occurrence)
    for (turn, field), occurrences in by_field.items():
        text = turns[turn].text if turn is not None else metadata[field.split(":", 1)[1]]
        for occurrence in sorted(occurrences, key=lambda o: o["start"], reverse=True):
            text = text[: occurrence["start"]] + occurrence["original"] + text[occurrence["end"] :]
        if turn is not None:
            turns[turn] = turns[turn].with_text(text)
        else:
            metadata[field.split(":", 1)[1]] = text
    return replace(transcript, turns=tuple(turns), metadata=metadata)
