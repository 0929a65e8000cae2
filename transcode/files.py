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
from functools import cache
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


class BoundedZip:
    """A zip archive read member by member within limits, so a small hostile file cannot take the
    machine's memory or disk (a zip bomb): each member read must be at most ``max_member`` bytes
    unpacked and at most ``max_ratio`` times its packed size (members under 1 MiB may pack
    better), the members read together at most ``max_total``, the archive at most ``max_entries``.

    The sizes are the archive's own, checked before a byte is unpacked; :mod:`zipfile` never
    returns more than a member's declared size (and fails its CRC if the data disagree), so a
    lying header gains nothing. Only the members asked for are unpacked, and :meth:`open`
    streams. Every problem is an :class:`InputError` naming the file.
    """

    SMALL = 1 << 20

    def __init__(
        self,
        path: str | Path,
        *,
        max_member: int = 64 << 20,
        max_total: int = 256 << 20,
        max_ratio: int = 100,
        max_entries: int = 10_000,
        kind: str = "zip archive",
    ):
        import zipfile

        self.path = str(path)
        self.kind = kind
        self.max_member, self.max_total, self.max_ratio = max_member, max_total, max_ratio
        self.read_so_far = 0
        try:
            self.archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
            raise InputError(f"not a readable {kind} ({_reason(err)})", self.path) from None
        if len(self.archive.infolist()) > max_entries:
            self.archive.close()
            raise InputError(f"{kind} holds more than {max_entries} entries: refused", self.path)

    def __enter__(self) -> BoundedZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.archive.close()

    def names(self) -> list[str]:
        return self.archive.namelist()

    def open(self, name: str) -> IO[bytes]:
        """A stream of one member, after checking its size, its ratio and the running total."""
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise InputError(f"not a readable {self.kind} (no {name})", self.path) from None
        size, packed = info.file_size, max(info.compress_size, 1)
        if size > self.max_member:
            raise InputError(
                f"{name} would unpack to {size:,} bytes (more than {self.max_member:,}): refused, "
                "a possible zip bomb",
                self.path,
            )
        if size > self.SMALL and size > self.max_ratio * packed:
            raise InputError(
                f"{name} is packed {size // packed}:1 (more than {self.max_ratio}:1): refused, "
                "a possible zip bomb",
                self.path,
            )
        self.read_so_far += size
        if self.read_so_far > self.max_total:
            raise InputError(
                f"the members read would unpack to more than {self.max_total:,} bytes: refused, "
                "a possible zip bomb",
                self.path,
            )
        try:
            return self.archive.open(info)
        except (NotImplementedError, RuntimeError, ValueError, OSError) as err:
            raise InputError(f"not a readable {self.kind} ({_reason(err)})", self.path) from None

    def read(self, name: str) -> bytes:
        import zipfile
        import zlib

        with self.open(name) as stream:
            try:
                return stream.read()
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
                raise InputError(f"not a readable {self.kind} ({_reason(err)})", self.path) from None


def _reason(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:120]}" if text else type(err).__name__


#: What makes a spreadsheet read a cell as a formula (OWASP's list): =, +, -, @, tab, carriage return.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text instead of running: text that starts like a formula
    gets a leading ``'`` (which spreadsheets hide); numbers, and text that reads as a number
    (``-0.5``), are left as they are. :func:`unquote_spreadsheet_text` undoes it on reading."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


def unquote_spreadsheet_text(value: str) -> str:
    """The text :func:`spreadsheet_text` protected, as it was (a file transcode wrote, read back)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def read_text(path: str | Path) -> str:
    """A UTF-8 text file (BOM allowed); missing, a folder, undecodable or unreadable: an InputError."""
    return _read_text(Path(path))


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


#: The largest YAML file read (a codebook or a bands file is a few KB).
MAX_YAML_BYTES = 4 << 20


@cache
def _no_alias_loader():
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        """PyYAML's safe loader, refusing aliases before they are expanded."""

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, f"aliases (*{event.anchor}) are not allowed", event.start_mark
                )
            return super().compose_node(parent, index)

    return NoAliasLoader


def read_yaml(path: str | Path) -> Any:
    """A YAML (or JSON) document; a syntax error names the line where the parser stopped.

    Aliases (``*name``) are refused: nothing transcode reads needs them, and a few lines of
    nested aliases expand to billions of nodes (the "billion laughs" of YAML).
    """
    import yaml

    path = Path(path)
    if path.is_file() and path.stat().st_size > MAX_YAML_BYTES:
        raise InputError(
            f"larger than {MAX_YAML_BYTES >> 20} MiB: not a codebook or settings file", str(path)
        )
    text = _read_text(path)
    try:
        return yaml.load(text, Loader=_no_alias_loader())  # a SafeLoader that refuses aliases
    except RecursionError:
        raise InputError("nested too deeply", str(path)) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InputError(f"invalid YAML: {problem}", str(path), mark.line + 1 if mark else None) from None
