"""Errors raised by the eval package.

EvalError
└── DatasetError     a dataset folder that is missing files or holds malformed rows
"""


class EvalError(Exception):
    """Base of every error the eval package raises."""


class DatasetError(EvalError, ValueError):
    """A dataset folder that is missing files or holds malformed rows."""
