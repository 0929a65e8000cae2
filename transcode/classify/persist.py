"""Saving and loading trained models as safetensors + JSON, never pickle.

A model folder holds ``weights.safetensors`` (plain float arrays),
``model.json`` (format, codebook, encoder, settings, metrics) and
``MODEL_CARD.md`` for people. Nothing in it can run code when loaded: the
arrays are raw numbers, and the JSON is read against a fixed list of fields,
so a file with unknown fields, tensors or formats is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from safetensors.numpy import save as save_tensors

from transcode.codebook import Codebook, parse_codebook
from transcode.errors import InputError
from transcode.files import PRIVATE_FOLDER, check_output_folder, ensure_folder, write_atomic

FORMAT = "transcode-domain-model"
FORMAT_VERSION = 1
TENSORS = (
    "coef",
    "intercept",
    "calibration",
    "thresholds",
    "positives",
    "learned",
    "idf_text",
    "idf_question",
)
FIELDS = {
    "format",
    "format_version",
    "created",
    "codebook",
    "codebook_fingerprint",
    "encoder",
    "n_train",
    "prior_strength",
    "target_recall",
    "regularisation_c",
    "trained_on",
    "metrics",
    "fit_seconds",
    "version",
    "vocabulary_text",
    "vocabulary_question",
}


def encoder_spec(encoder) -> dict:
    """Enough to rebuild the encoder a model was trained with, and to refuse a different one."""
    from transcode.embed import StaticEncoder

    kind = "static" if isinstance(encoder, StaticEncoder) else "sentence-transformers"
    default = getattr(encoder, "verified", False) or (
        kind == "static" and encoder.model_id.startswith("m2v:minilm-static-256:")
    )
    return {
        "kind": kind,
        "model_id": encoder.model_id,
        "default": bool(default),
        "path": None if default else str(encoder.model_path),
        "dimension": int(encoder.dimension),
    }


MODEL_FILES = ("model.json", "weights.safetensors", "MODEL_CARD.md")


def check_model_folder(path: str | Path) -> Path:
    """Refuse, before training, a ``--out`` that could not take a model: a file, an unwritable place,
    or a folder holding anything but an earlier model (it is replaced whole, so it must be one)."""
    path = Path(path)
    check_output_folder(path)
    if path.is_dir():
        others = sorted(p.name for p in path.iterdir() if p.name not in MODEL_FILES)
        if others:
            raise InputError(
                f"holds other files ({', '.join(others[:3])}); a model replaces its folder whole: "
                "give a new folder",
                str(path),
            )
    return path


def save_model(model, path: str | Path) -> Path:
    """Write the model folder atomically (a private temporary folder renamed into place).

    The folder is 0700 and its files 0600 (a stricter umask wins); an earlier model there is
    replaced only once the new one is complete."""
    path = check_model_folder(path)
    ensure_folder(path.parent)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    vocabulary_text, idf_text, vocabulary_question, idf_question = model.lexical.state
    try:
        weights = save_tensors(
            {
                "idf_text": idf_text,
                "idf_question": idf_question,
                "coef": model.coef.astype(np.float32),
                "intercept": model.intercept.astype(np.float32),
                "calibration": model.calibration.astype(np.float32),
                "thresholds": model.thresholds.astype(np.float32),
                "positives": model.positives.astype(np.int64),
                "learned": model.learned.astype(np.uint8),
            }
        )
        write_atomic(staging / "weights.safetensors", weights)
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "codebook": model.codebook.to_dict(),
            "codebook_fingerprint": model.codebook.fingerprint(),
            "encoder": encoder_spec(model.encoder),
            "n_train": int(model.n_train),
            "prior_strength": float(model.prior_strength),
            "target_recall": float(model.target_recall),
            "regularisation_c": float(model.regularisation_c),
            "trained_on": model.trained_on,
            "metrics": model.metrics,
            "fit_seconds": round(float(model.fit_seconds), 3),
            "vocabulary_text": vocabulary_text,
            "vocabulary_question": vocabulary_question,
        }
        reloaded = _arrays(staging / "weights.safetensors")
        meta["version"] = _version(reloaded)
        write_atomic(staging / "model.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        write_atomic(staging / "MODEL_CARD.md", model_card(meta, reloaded))
        staging.chmod(PRIVATE_FOLDER & ~_umask())
        earlier = None
        if path.exists():
            earlier = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old."))
            os.replace(path, earlier / "model")
        try:
            os.replace(staging, path)
        except BaseException:
            if earlier is not None:
                os.replace(earlier / "model", path)
            raise
        finally:
            if earlier is not None:
                shutil.rmtree(earlier, ignore_errors=True)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(f"cannot write the model: {err.strerror or err}", str(path)) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def _umask() -> int:
    current = os.umask(0o077)
    os.umask(current)
    return current


def _arrays(weights: Path) -> dict[str, np.ndarray]:
    try:
        arrays = load_file(str(weights))
    except Exception as err:  # safetensors raises its own error types for corrupt files
        raise InputError(f"not a safetensors file ({err})", str(weights)) from None
    if set(arrays) != set(TENSORS):
        raise InputError(f"unexpected tensors {sorted(set(arrays) ^ set(TENSORS))}", str(weights))
    return arrays


def _version(arrays: dict[str, np.ndarray]) -> str:
    from transcode.classify.trained import model_version

    return model_version(arrays["coef"], arrays["intercept"], arrays["calibration"], arrays["thresholds"])


def load_model(path: str | Path, *, codebook: Codebook | None = None, encoder=None):
    """Load and validate a model folder; refuse unknown formats, fields, tensors or a mismatched encoder.

    With ``codebook`` given, its domain ids must match the model's (the current
    descriptions then feed the zero-shot prior); otherwise the saved codebook is used.
    """
    from transcode.classify.trained import DomainModel, LexicalFeatures

    path = Path(path)
    meta_file, weights = path / "model.json", path / "weights.safetensors"
    if not meta_file.is_file() or not weights.is_file():
        raise InputError("not a trained model folder (needs model.json and weights.safetensors)", str(path))
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"model.json is not valid JSON ({err})", str(meta_file)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"not a {FORMAT} file", str(meta_file))
    if meta.get("format_version") != FORMAT_VERSION:
        raise InputError(f"unsupported format_version {meta.get('format_version')!r}", str(meta_file))
    unknown = set(meta) - FIELDS
    if unknown or FIELDS - set(meta):
        raise InputError(
            f"unexpected or missing fields {sorted(unknown ^ (FIELDS - set(meta)))}", str(meta_file)
        )
    saved_book = parse_codebook(meta["codebook"], str(meta_file))
    if codebook is not None and codebook.domain_ids != saved_book.domain_ids:
        raise InputError(
            f"the model is stale: it was trained on domains {saved_book.domain_ids}, the codebook now "
            f"has {codebook.domain_ids} (changed since, e.g. by `transcode codebook apply`); "
            "retrain it with `transcode train`",
            str(path),
        )
    arrays = _arrays(weights)
    n_domains, spec = len(saved_book.domains), meta["encoder"]
    vocabulary_text, vocabulary_question = meta["vocabulary_text"], meta["vocabulary_question"]
    if not all(
        isinstance(v, list) and all(isinstance(t, str) for t in v)
        for v in (vocabulary_text, vocabulary_question)
    ):
        raise InputError("vocabularies must be lists of strings", str(meta_file))
    n_lexical = len(vocabulary_text) + len(vocabulary_question)
    expected = {
        "coef": (n_domains, 2 * int(spec["dimension"]) + n_lexical),
        "intercept": (n_domains,),
        "idf_text": (len(vocabulary_text),),
        "idf_question": (len(vocabulary_question),),
        "calibration": (n_domains, 2),
        "thresholds": (n_domains,),
        "positives": (n_domains,),
        "learned": (n_domains,),
    }
    for name, shape in expected.items():
        if tuple(arrays[name].shape) != shape:
            raise InputError(f"tensor {name} has shape {arrays[name].shape}, expected {shape}", str(weights))
    encoder = encoder if encoder is not None else _encoder_from_spec(spec, path)
    if encoder.model_id != spec["model_id"]:
        raise InputError(
            f"model was trained on embeddings from {spec['model_id']}, this run uses "
            f"{encoder.model_id} (match --fast / --model-name to the training run)",
            str(path),
        )
    model = DomainModel(
        codebook=codebook or saved_book,
        encoder=encoder,
        coef=arrays["coef"].astype(np.float64),
        intercept=arrays["intercept"].astype(np.float64),
        calibration=arrays["calibration"].astype(np.float64),
        thresholds=arrays["thresholds"].astype(np.float64),
        positives=arrays["positives"].astype(np.int64),
        learned=arrays["learned"].astype(bool),
        n_train=int(meta["n_train"]),
        prior_strength=float(meta["prior_strength"]),
        target_recall=float(meta["target_recall"]),
        regularisation_c=float(meta["regularisation_c"]),
        metrics=dict(meta["metrics"]),
        trained_on=str(meta["trained_on"]),
        fit_seconds=float(meta["fit_seconds"]),
        lexical=LexicalFeatures(
            vocabulary_text, arrays["idf_text"], vocabulary_question, arrays["idf_question"]
        ),
    )
    return model


def _encoder_from_spec(spec: dict, path: Path):
    from transcode.embed import SentenceEncoder, StaticEncoder

    if spec["default"]:
        return StaticEncoder() if spec["kind"] == "static" else SentenceEncoder()
    folder = Path(spec["path"])
    if not folder.is_dir():
        raise InputError(f"the model's encoder folder {folder} is missing; pass --model-name", str(path))
    return StaticEncoder(folder) if spec["kind"] == "static" else SentenceEncoder(folder)


def model_card(meta: dict, arrays: dict[str, np.ndarray]) -> str:
    """A short human-readable card: what the model learned from and how well it did."""
    book, encoder = meta["codebook"], meta["encoder"]
    lines = [
        f"# Domain model `{meta['version']}`",
        "",
        f"- Codebook: {book['name']} (version {book['version']}, fingerprint {meta['codebook_fingerprint']})",
        f"- Encoder: {encoder['model_id']} ({encoder['kind']}, {encoder['dimension']}-d)",
        f"- Trained on: {meta['trained_on'] or 'confirmed codes'}; {meta['n_train']} units",
        f"- Created: {meta['created']}; fit took {meta['fit_seconds']} s",
        f"- Blend: zero-shot prior weight k / (k + positives), k = {meta['prior_strength']}; "
        f"thresholds for target recall {meta['target_recall']}; C = {meta['regularisation_c']}",
        f"- Features: sentence vectors of unit and question, TF-IDF of both "
        f"({len(meta['vocabulary_text'])} + {len(meta['vocabulary_question'])} terms)",
        "- Format: safetensors + JSON (no pickle); load with `transcode.classify.trained.load_model`.",
        "",
        "| domain | confirmed examples | learned | threshold |",
        "|---|---:|:---:|---:|",
    ]
    for j, domain in enumerate(book["domains"]):
        lines.append(
            f"| {domain['id']} | {int(arrays['positives'][j])} | "
            f"{'yes' if arrays['learned'][j] else 'no (prior only)'} | {float(arrays['thresholds'][j]):.3f} |"
        )
    metrics = meta.get("metrics") or {}
    if metrics:
        lines += ["", "## Metrics", ""]
        lines += [f"- {name}: {value}" for name, value in metrics.items()]
    return "\n".join(lines) + "\n"
