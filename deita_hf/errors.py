"""The package's exception types, in one place.

Every error that a user can cause and fix (bad input, bad arguments, a folder in the way, a
model that cannot be loaded offline) is a :class:`DeitaError`; the command line prints such an
error as one message and exits with code 2 (:data:`EXIT_USAGE`), while any other exception is
a bug or a failure of the environment and keeps its traceback (exit code 1).

Each type also subclasses the built-in exception it refines (``ValueError``,
``FileExistsError``, ...), so ``except ValueError`` keeps working.

Example:
    >>> from deita_hf.errors import DeitaError, FormatError
    >>> issubclass(FormatError, ValueError) and issubclass(FormatError, DeitaError)
    True
    >>> str(InputError("row 3 has no 'messages' column"))
    "row 3 has no 'messages' column"
"""

from __future__ import annotations

__all__ = [
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "ConfigError",
    "DeitaError",
    "FolderInUseError",
    "FolderKindError",
    "FormatError",
    "GenerationError",
    "IncompleteFolderError",
    "InputError",
    "InputNotFoundError",
    "MissingTokenError",
    "ModelLoadError",
    "OutputExistsError",
    "PublishError",
    "RepoNotEmptyError",
    "SelectionError",
]

#: exit code of the CLI for an expected error (bad input, bad arguments)
EXIT_USAGE = 2
#: exit code of the CLI for a failure (an unexpected exception)
EXIT_FAILURE = 1


class DeitaError(Exception):
    """Base class of every expected error of ``deita_hf`` (printed without a traceback)."""


class InputError(DeitaError, ValueError):
    """The input data is unusable: a missing column, a bad row, an unreadable file."""


class FormatError(InputError):
    """A row is not in a supported conversation or preference format (names the row)."""


class InputNotFoundError(InputError, FileNotFoundError):
    """An input file, folder or dataset does not exist."""


class ConfigError(DeitaError, ValueError, TypeError):
    """An argument, option, spec string or recipe key is invalid (of a wrong value or type).

    Args:
        *args: the message.
        param: the parameter (config field) the message names, or several; the library
            names parameters as Python does (``embedder``), and the command line rewrites them
            to its flags (``--embedder``, :func:`deita_hf.cli.main.error_message`).

    Example:
        >>> err = ConfigError("budget must be positive, got 0.", param="budget")
        >>> err.params, str(err)
        (('budget',), 'budget must be positive, got 0.')
    """

    def __init__(self, *args: object, param: str | tuple[str, ...] | None = None) -> None:
        super().__init__(*args)
        self.params: tuple[str, ...] = (param,) if isinstance(param, str) else tuple(param or ())


class SelectionError(DeitaError, ValueError):
    """Selection cannot run on these columns (NaN scores, zero vectors, ragged dimensions)."""


class ModelLoadError(DeitaError, OSError):
    """A model or tokenizer could not be loaded (offline, missing folder, wrong files)."""


class OutputExistsError(DeitaError, FileExistsError):
    """The output folder holds files and ``overwrite`` was not given."""


class FolderKindError(DeitaError, ValueError):
    """A folder is of another kind than expected (a selection where scores were asked for...)."""


class IncompleteFolderError(DeitaError, ValueError):
    """A folder is an unfinished ``deita-hf score`` run (only the resume path may read it)."""


class FolderInUseError(DeitaError, RuntimeError):
    """Another process is writing the same output folder."""


class GenerationError(DeitaError, RuntimeError):
    """An LLM call failed for good (after its retries) or its backend is misconfigured."""


class PublishError(DeitaError, RuntimeError):
    """Pushing to the Hub failed (no network, refused, offline mode)."""


class MissingTokenError(DeitaError, RuntimeError):
    """No Hugging Face token was passed or found."""


class RepoNotEmptyError(DeitaError, FileExistsError):
    """The target Hub repository already holds data and ``overwrite`` was not given."""
