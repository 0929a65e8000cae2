"""Files in and out: the one atomic writer, and the JSONL and YAML readers, errors naming file and line.

Every file transcode writes for a user goes through :func:`atomic_writer`: a temporary file made
with ``mkstemp`` in the target's own folder (no predictable name a planted link could redirect),
private to the user (0600; folders 0700; a stricter umask wins), renamed over the target only
once complete and removed on any failure, so a reader never sees half a file. Formats are
described in ``docs/formats.md``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from transcode.errors import InputError

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def ensure_folder(path: str | Path) -> Path:
    """Create ``path`` and any missing parents, each private (0700 unless the umask is stricter)."""
    folder = Path(path)
    missing = []
    cursor = folder
    while not cursor.exists():
        missing.append(cursor)
        cursor = cursor.parent
    if not cursor.is_dir():
        raise InputError("is a file, not a folder", str(cursor))
    try:
        for level in reversed(missing):
            level.mkdir(mode=PRIVATE_FOLDER)
    except OSError as err:
        raise InputError(f"cannot create the folder: {err.strerror or err}", str(folder)) from None
    return folder


def create_private_file(path: str | Path) -> Path:
    """Create ``path`` empty and private (0600 unless the umask is stricter) if it does not exist;
    an existing file keeps its mode. For files others then open and fill (SQLite databases)."""
    path = Path(path)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
    except FileExistsError:
        pass
    except OSError as err:
        raise InputError(f"cannot create: {err.strerror or err}", str(path)) from None
    return path


def _probe(folder: Path, target: Path) -> None:
    """Make and remove a temporary file in ``folder``: the one sure test that it takes new files
    (permissions, a read-only filesystem, quotas), also for root, for whom ``os.access`` says yes."""
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".transcode-probe.", suffix=".tmp")
    except OSError as err:
        raise InputError(f"cannot write here: {err.strerror or err}", str(target)) from None
    os.close(handle)
    Path(temporary).unlink(missing_ok=True)


def check_output_file(path: str | Path, *, make_folder: bool = False) -> Path:
    """Refuse, before any work, a file output that could not be written: a folder given as the
    file, a missing (unless ``make_folder``: it will be created) or unwritable folder. A full disk
    can only show while writing: the atomic writer then removes its temporary file."""
    target = Path(path)
    if target.is_dir():
        raise InputError("is a folder; give a file name", str(target))
    if make_folder:
        check_output_folder(target.parent)
        return target
    if not target.parent.is_dir():
        what = "is not a folder" if target.parent.exists() else "folder does not exist"
        raise InputError(what, str(target.parent))
    _probe(target.parent, target)
    return target


def check_output_folder(path: str | Path) -> Path:
    """Refuse, before any work, an output folder that is a file or cannot be created or written.
    Nothing is created here: the folder is made (private) when the outputs are written."""
    folder = Path(path)
    cursor = folder
    while not cursor.exists() and cursor != cursor.parent:
        cursor = cursor.parent
    if not cursor.is_dir():
        raise InputError("is a file, not a folder", str(cursor))
    _probe(cursor, folder)
    return folder


@contextmanager
def atomic_writer(path: str | Path, *, binary: bool = False, newline: str | None = None) -> Iterator[IO[Any]]:
    """A handle on a private temporary file beside ``path`` that becomes ``path`` when the block ends.

    Text handles write UTF-8. If the block raises, the temporary file is removed and ``path``
    keeps whatever it held before. The target's folder must exist (see :func:`ensure_folder`).
    """
    target = Path(path)
    if target.is_dir():
        raise InputError("is a folder; give a file name", str(target))
    if not target.parent.is_dir():
        raise InputError("folder does not exist", str(target.parent))
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror or err}", str(target)) from None
    try:
        if binary:
            stream: IO[Any] = os.fdopen(handle, "wb")
        else:
            stream = os.fdopen(handle, "w", encoding="utf-8", newline=newline)
        with stream:
            yield stream
        os.replace(temporary, target)
    except OSError as err:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"cannot write: {err.strerror or err}", str(target)) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, content: str | bytes) -> Path:
    """Write ``content`` (text as UTF-8) to ``path`` through :func:`atomic_writer`."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with atomic_writer(path, binary=True) as stream:
        stream.write(data)
    return Path(path)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", str(path)) from None
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text (byte {err.start})", str(path)) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", str(path)) from None


def read_jsonl(path: str | Path) -> list[dict]:
    """One JSON object per line (blank lines skipped); a bad line is an error naming it."""
    path = Path(path)
    records = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"not JSON: {err.msg}", str(path), number) from None
        if not isinstance(record, dict):
            raise InputError("expected one JSON object per line", str(path), number)
        records.append(record)
    return records


def read_yaml(path: str | Path) -> Any:
    """A YAML (or JSON) document; a syntax error names the line where the parser stopped."""
    import yaml

    path = Path(path)
    text = _read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InputError(f"invalid YAML: {problem}", str(path), mark.line + 1 if mark else None) from None
