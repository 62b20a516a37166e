"""The one error type of the trace layer: a trace file that cannot be used.

Every problem with a trace — missing file, foreign or truncated HDF5, missing
dataset, wrong dtype or shape, unknown schema version — is reported the same
way, as one line a user can act on::

    <file>: <dataset or attribute path>: <what was expected, what was found>

so the command line can print it verbatim and exit non-zero, never a traceback.
"""

from __future__ import annotations

import os


class TraceError(Exception):
    """A trace file problem, rendered as ``<file>: <where>: <message>``."""

    def __init__(self, file: str | os.PathLike[str], where: str, message: str) -> None:
        self.file = os.fspath(file)
        self.where = where
        self.message = " ".join(str(message).split())  # always one line
        # args are the constructor's own arguments: SimPy re-raises a process's
        # exception as ``type(exc)(*exc.args)``, which must rebuild this error
        super().__init__(self.file, where, self.message)

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}"
