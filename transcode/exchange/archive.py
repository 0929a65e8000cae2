"""Reading members of a zip archive (a ``.qdpx``) without trusting its sizes.

A zip file says how big each member is, but a hostile one lies, and a small file can inflate to
gigabytes (a "zip bomb"). :class:`BoundedArchive` reads one named member at a time, decompressing
in chunks and counting what actually comes out, and stops with an :class:`InputError` as soon as a
member, the total or a member's compression ratio goes past :class:`ArchiveLimits`. Only the
members a caller asks for are ever decompressed.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from transcode.errors import InputError

MiB = 1024 * 1024
_CHUNK = MiB


@dataclass(frozen=True)
class ArchiveLimits:
    """How much one import may decompress. Real projects are below these (a 12-interview
    QualCoder project: 2 MiB, ratio 7; transcode's own export of 200,000 coded units: a
    project.qde of about 300 MiB, ratio about 6); a zip bomb is far above."""

    member_bytes: int = 1024 * MiB
    total_bytes: int = 2048 * MiB
    #: Output bytes per compressed byte, checked once a member has produced ``ratio_floor`` bytes
    #: (tiny members compress absurdly well and harm no one).
    ratio: float = 200.0
    ratio_floor: int = MiB


DEFAULT_LIMITS = ArchiveLimits()


class BoundedArchive:
    """A zip archive opened for bounded reads: ``with BoundedArchive(path) as archive: archive.read(n)``."""

    def __init__(self, path: str | Path, limits: ArchiveLimits = DEFAULT_LIMITS):
        self.path = str(path)
        self.limits = limits
        self.total = 0
        try:
            self._zip = zipfile.ZipFile(path)
            self._infos = {info.filename: info for info in self._zip.infolist()}
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError):
            raise InputError(
                "not a REFI-QDA .qdpx (a .qdpx is a zip archive; this is not one)", self.path
            ) from None

    def __enter__(self) -> BoundedArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip.close()

    def names(self) -> list[str]:
        return [name for name, info in self._infos.items() if not info.is_dir()]

    def find(self, name: str, *, folder_any_case: bool = False) -> str | None:
        """The member called ``name``; with ``folder_any_case``, its first folder may differ in case
        (``Sources/`` or ``sources/``)."""
        if name in self._infos:
            return name
        if folder_any_case and "/" in name:
            folder, rest = name.split("/", 1)
            matches = [n for n in self._infos if "/" in n and n.split("/", 1)[1] == rest]
            for candidate in sorted(matches):
                if candidate.split("/", 1)[0].casefold() == folder.casefold():
                    return candidate
        return None

    def read(self, name: str) -> bytes:
        """The member's bytes, decompressed in chunks under the limits."""
        info = self._infos[name]
        limits = self.limits
        if info.file_size > limits.member_bytes:
            raise self._too_big(name, f"says it holds {info.file_size:,} bytes")
        parts: list[bytes] = []
        produced = 0
        try:
            with self._zip.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    produced += len(chunk)
                    self.total += len(chunk)
                    if produced > limits.member_bytes:
                        raise self._too_big(name, f"inflates past {limits.member_bytes:,} bytes")
                    if self.total > limits.total_bytes:
                        raise InputError(
                            f"the archive inflates past {limits.total_bytes:,} bytes in all; "
                            "refused as a possible zip bomb",
                            self.path,
                        )
                    if produced >= limits.ratio_floor and produced > limits.ratio * max(
                        info.compress_size, 1
                    ):
                        raise self._too_big(
                            name, f"inflates more than {limits.ratio:g} times its compressed size"
                        )
                    parts.append(chunk)
        except InputError:
            raise
        except RuntimeError as err:  # encrypted member
            raise InputError(f"cannot read member {name!r}: {err}", self.path) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError, OSError) as err:
            raise InputError(f"member {name!r} is damaged or unreadable ({err})", self.path) from None
        return b"".join(parts)

    def _too_big(self, name: str, what: str) -> InputError:
        return InputError(f"member {name!r} {what}; refused as a possible zip bomb", self.path)
