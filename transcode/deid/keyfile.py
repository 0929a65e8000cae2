"""The re-identification key: placeholder -> original value, only ever written encrypted.

A study may need to go back from ``[PERSON_1]`` to the person (a participant
withdraws, an auditor asks). The mapping is written only when asked for
(``transcode deid --key FILE``), as AES-256-GCM ciphertext under a key derived
from a passphrase with scrypt; the envelope is JSON so it can be inspected
without revealing anything. A wrong passphrase or a changed byte fails loudly.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from transcode.errors import InputError
from transcode.transcript import Transcript

FORMAT = "transcode-deid-key"
VERSION = 1
PASSPHRASE_ENV = "TRANSCODE_KEY_PASSPHRASE"
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_MIN_PASSPHRASE = 8


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
        salt = base64.b64decode(kdf["salt"])
        key = _derive(passphrase, salt, int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
        plaintext = AESGCM(key).decrypt(
            base64.b64decode(envelope["nonce"]), base64.b64decode(envelope["ciphertext"]), _header(kdf)
        )
    except InvalidTag:
        raise InputError("wrong passphrase, or the key file was altered", source) from None
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"malformed key file ({err.__class__.__name__})", source) from None
    return json.loads(plaintext)


def check_passphrase(passphrase: str | None, source: str | None = None) -> str:
    if not passphrase:
        raise InputError(
            f"--key needs a passphrase: --key-passphrase or the {PASSPHRASE_ENV} environment variable", source
        )
    if len(passphrase) < _MIN_PASSPHRASE:
        raise InputError(f"key passphrase must be at least {_MIN_PASSPHRASE} characters", source)
    return passphrase


def write_key_file(path: str | Path, entries: Mapping[str, Any], passphrase: str) -> None:
    """Encrypt ``{"files": entries}`` to ``path`` (atomically, readable by the owner only)."""
    path = Path(path)
    envelope = encrypt({"files": dict(entries)}, passphrase)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as fh:
            json.dump(envelope, fh, indent=2)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_key_file(path: str | Path, passphrase: str) -> dict[str, Any]:
    """The decrypted ``{"files": {file name: entry}}``; a wrong passphrase or damage is an InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError("key file not found", str(path))
    try:
        envelope = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
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
