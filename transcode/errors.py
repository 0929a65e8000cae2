"""The errors a user may see: one taxonomy, one line each, caught once by the command line.

::

    TranscodeError                 one line for the user; the CLI exits with ``exit_code``
    ├── InputError                 what was asked is invalid: a bad value, file or line (exit 2)
    │   └── StoreError             ... for this store: it names what the store does not hold,
    │       │                      conflicts with what it holds, or comes before the step it needs
    │       ├── StoreWriteError    the database refused a write (disk full, read-only)
    │       └── PhaseError         the study's phase forbids it (blind coding: another judge's
    │                              codes before consensus; a lead's step not taken yet)
    └── ModelIntegrityError        a pinned model file is not the one verified (exit 1)

A :class:`StoreError` is an :class:`InputError` (the contract's exit 2: the request cannot be
carried out as given), told apart where the reason is the store's state rather than the request
alone. Anything else that escapes is a bug: the CLI prints one line, never a traceback (set
``TRANSCODE_DEBUG=1`` to see it).
"""

from __future__ import annotations


class TranscodeError(Exception):
    """Base of every error meant for the user: its text is one line, ``exit_code`` the CLI's."""

    exit_code = 2


class InputError(TranscodeError, ValueError):
    """Bad user input: reported as one line naming the file (and line), exit 2."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return f"{where}{self.message}"

    def at(self, path: str | None = None, line: int | None = None) -> InputError:
        """The same error, of the same class, placed at ``path`` and/or ``line`` (those given)."""
        return type(self)(
            self.message, self.path if path is None else path, self.line if line is None else line
        )


class StoreError(InputError):
    """The store's state forbids what was asked (not initialised, no such unit, already revised...)."""


class StoreWriteError(StoreError):
    """The database refused a write for lack of space or permission; the transaction was rolled back."""


class PhaseError(StoreError):
    """A case's study phase forbids what was asked: above all, reading another judge's codes before
    the case reaches consensus (transcode.coding.phases says what each phase allows)."""


class ModelIntegrityError(TranscodeError):
    """A model file on disk is not the one this project verified."""

    exit_code = 1
