"""Errors raised by the eval package.

EvalError
├── DatasetError     a dataset folder that is missing files or holds malformed rows
├── JudgeFailed      the ragas judge gave no answer matching the wanted schema within its attempts
└── GateConfigError  a gate config or baseline that cannot be read
"""


class EvalError(Exception):
    """Base of every error the eval package raises."""


class DatasetError(EvalError, ValueError):
    """A dataset folder that is missing files or holds malformed rows."""


class JudgeFailed(EvalError):
    """The judge gave no answer matching the wanted schema within its attempts."""


class GateConfigError(EvalError, ValueError):
    """A gate config or baseline that cannot be read."""
