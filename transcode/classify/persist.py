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

from transcode.classify.evidence import EXEMPLAR_STRENGTH, MIN_EXEMPLARS, EvidenceSettings, Exemplars
from transcode.classify.features import DENSE_BLOCKS, LexicalFeatures
from transcode.classify.proposer import Calibration, DomainProposer
from transcode.classify.sequence import Transitions
from transcode.classify.trained import LearnedWeights
from transcode.codebook import Codebook, parse_codebook
from transcode.errors import InputError
from transcode.files import PRIVATE_FOLDER, check_output_folder, ensure_folder, write_atomic

FORMAT = "transcode-domain-model"
#: 2: one proposer (evidence settings, context block, sequence transitions, temperatures and
#: one-key thresholds per path); 1 (the blended recall-0.7 model) is refused with a hint to retrain.
FORMAT_VERSION = 2
TENSORS = (
    "coef",
    "intercept",
    "platt",
    "positives",
    "learned",
    "idf_text",
    "idf_question",
    "thresholds_sequence",
    "thresholds_plain",
    "transitions_within_turn",
    "transitions_after_question",
    "transitions_after_probe",
    "transitions_initial",
    "centroids",
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
    "evidence_settings",
    "emission_power",
    "temperature_sequence",
    "temperature_plain",
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


def save_model(model: DomainProposer, path: str | Path) -> Path:
    """Write a trained proposer's folder atomically (a private temporary folder renamed into place).

    The folder is 0700 and its files 0600 (a stricter umask wins); an earlier model there is
    replaced only once the new one is complete."""
    if model.learned is None:
        raise ValueError("only a trained proposer is saved (the zero-shot one is the codebook itself)")
    path = check_model_folder(path)
    ensure_folder(path.parent)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    learned = model.learned
    vocabulary_text, idf_text, vocabulary_question, idf_question = learned.lexical.state
    assert model.transitions is not None
    try:
        weights = save_tensors(
            {
                "idf_text": idf_text,
                "idf_question": idf_question,
                "coef": learned.coef.astype(np.float32),
                "intercept": learned.intercept.astype(np.float32),
                "platt": learned.platt.astype(np.float32),
                "positives": learned.positives.astype(np.int64),
                "learned": learned.learned.astype(np.uint8),
                "thresholds_sequence": model.calibration["sequence"].thresholds.astype(np.float32),
                "thresholds_plain": model.calibration["plain"].thresholds.astype(np.float32),
                **{name: a.astype(np.float32) for name, a in model.transitions.arrays.items()},
                "centroids": _centroids(model).astype(np.float32),
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
            "prior_strength": float(learned.prior_strength),
            "evidence_settings": model.settings.as_dict(),
            "emission_power": float(model.emission_power),
            "temperature_sequence": float(model.calibration["sequence"].temperature),
            "temperature_plain": float(model.calibration["plain"].temperature),
            "trained_on": model.trained_on,
            "metrics": model.metrics,
            "fit_seconds": round(float(model.fit_seconds), 3),
            "version": model.version,
            "vocabulary_text": vocabulary_text,
            "vocabulary_question": vocabulary_question,
        }
        write_atomic(staging / "model.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        write_atomic(staging / "MODEL_CARD.md", model_card(meta, _arrays(staging / "weights.safetensors")))
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


def _centroids(model: DomainProposer) -> np.ndarray:
    """The learned part's exemplar centroids (zeros for a model fitted without them)."""
    assert model.learned is not None
    if model.learned.exemplars is not None:
        return model.learned.exemplars.centroids
    return np.zeros((len(model.domain_ids), int(model.encoder.dimension)))


def _with_centroid(arrays: dict[str, np.ndarray]) -> int:
    return int((np.linalg.norm(arrays["centroids"], axis=1) > 0).sum())


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


def load_model(path: str | Path, *, codebook: Codebook | None = None, encoder=None) -> DomainProposer:
    """Load and validate a model folder; refuse unknown formats, fields, tensors or a mismatched encoder.

    With ``codebook`` given, its domain ids must match the model's (the current
    descriptions and questions then feed the zero-shot evidence); otherwise the saved
    codebook is used.
    """
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
        raise InputError(
            f"unsupported format_version {meta.get('format_version')!r} (this transcode reads "
            f"{FORMAT_VERSION}; retrain the model with `transcode train`)",
            str(meta_file),
        )
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
    try:
        settings = EvidenceSettings.from_dict(dict(meta["evidence_settings"]))
    except (TypeError, ValueError) as err:
        raise InputError(f"evidence_settings: {err}", str(meta_file)) from None
    n_lexical = len(vocabulary_text) + len(vocabulary_question)
    n_states = n_domains + 1  # the domains, then "other"
    square = (n_states, n_states)
    expected = {
        "coef": (n_states, DENSE_BLOCKS * int(spec["dimension"]) + n_lexical),
        "intercept": (n_states,),
        "idf_text": (len(vocabulary_text),),
        "idf_question": (len(vocabulary_question),),
        "platt": (n_states, 2),
        "positives": (n_states,),
        "learned": (n_states,),
        "thresholds_sequence": (n_domains,),
        "thresholds_plain": (n_domains,),
        "transitions_within_turn": square,
        "transitions_after_question": square,
        "transitions_after_probe": square,
        "transitions_initial": (n_states,),
        "centroids": (n_domains, int(spec["dimension"])),
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
    learned = LearnedWeights(
        coef=arrays["coef"],
        intercept=arrays["intercept"],
        platt=arrays["platt"],
        positives=arrays["positives"],
        learned=arrays["learned"].astype(bool),
        lexical=LexicalFeatures(
            vocabulary_text, arrays["idf_text"], vocabulary_question, arrays["idf_question"]
        ),
        prior_strength=float(meta["prior_strength"]),
        exemplars=Exemplars.from_centroids(arrays["centroids"], arrays["positives"][:n_domains]),
    )
    return DomainProposer(
        codebook=codebook or saved_book,
        encoder=encoder,
        settings=settings,
        transitions=Transitions.from_arrays(arrays),
        calibration={
            "sequence": Calibration(float(meta["temperature_sequence"]), arrays["thresholds_sequence"]),
            "plain": Calibration(float(meta["temperature_plain"]), arrays["thresholds_plain"]),
        },
        learned=learned,
        emission_power=float(meta["emission_power"]),
        n_train=int(meta["n_train"]),
        trained_on=str(meta["trained_on"]),
        metrics=dict(meta["metrics"]),
        fit_seconds=float(meta["fit_seconds"]),
    )


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
        f"- Blend: zero-shot evidence weight k / (k + positives), k = {meta['prior_strength']}",
        f"- Features: sentence vectors of unit, question, turn mean and previous unit; TF-IDF of unit "
        f"and question ({len(meta['vocabulary_text'])} + {len(meta['vocabulary_question'])} terms)",
        f"- Exemplars: each domain's centroid of its confirmed units ({_with_centroid(arrays)} domains with "
        f"at least {MIN_EXEMPLARS}) joins its answer evidence with weight n / (n + {EXEMPLAR_STRENGTH:g})",
        f"- Sequence layer: transitions learned from consensus codes, emission power "
        f"{meta['emission_power']}; temperature {meta['temperature_sequence']:.3f} "
        f"(without it: {meta['temperature_plain']:.3f})",
        "- Thresholds maximise the one-key rate (suggested set = consensus set) on out-of-fold scores",
        "- Format: safetensors + JSON (no pickle); load with `transcode.classify.persist.load_model`.",
        "",
        "| domain | confirmed examples | learned | threshold | threshold without sequence |",
        "|---|---:|:---:|---:|---:|",
    ]
    for j, domain in enumerate(book["domains"]):
        lines.append(
            f"| {domain['id']} | {int(arrays['positives'][j])} | "
            f"{'yes' if arrays['learned'][j] else 'no (prior only)'} | "
            f"{float(arrays['thresholds_sequence'][j]):.3f} | {float(arrays['thresholds_plain'][j]):.3f} |"
        )
    metrics = meta.get("metrics") or {}
    if metrics:
        lines += ["", "## Metrics", ""]
        lines += [f"- {name}: {value}" for name, value in metrics.items()]
    return "\n".join(lines) + "\n"
