"""Errors raised by the generation package.

GenerationError
├── ModelNotFound      a model setting that names no file and no packaged model
├── ModelCorrupt       an assembled packaged model whose size or sha256 is wrong
├── EngineFailed       the engine failed while generating
│   ├── EngineTimeout  a remote engine did not answer in time
│   └── NoReplicaAvailable  every engine replica is down, open-circuited, drained or already tried
├── PromptTooLong      messages that do not fit the model's context window beside the answer
└── CalibrationInvalid an abstention calibration that cannot be read or used
"""


class GenerationError(Exception):
    """Base of every error the generation package raises."""


class ModelNotFound(GenerationError):
    """The model setting names no file and no installed packaged model."""


class ModelCorrupt(GenerationError):
    """A model file does not have the bytes it should."""


class EngineFailed(GenerationError):
    """The engine raised while generating."""


class EngineTimeout(EngineFailed):
    """A remote engine did not answer within its timeout."""


class NoReplicaAvailable(EngineFailed):
    """Every replica of an engine pool is unhealthy, open-circuited, drained or already tried for this
    request (the HTTP layer answers 503 with these `headers`)."""

    headers = {"Retry-After": "5"}  # noqa: RUF012 (read-only)


class PromptTooLong(GenerationError):
    """The prompt and the longest allowed answer do not fit the model's context window."""


class CalibrationInvalid(GenerationError):
    """An abstention calibration that cannot be read or used."""
