"""Errors raised by the generation package.

GenerationError
├── ModelNotFound      a model setting that names no file and no packaged model
├── ModelCorrupt       an assembled packaged model whose size or sha256 is wrong
└── EngineFailed       the engine failed while generating
"""


class GenerationError(Exception):
    """Base of every error the generation package raises."""


class ModelNotFound(GenerationError):
    """The model setting names no file and no installed packaged model."""


class ModelCorrupt(GenerationError):
    """A model file does not have the bytes it should."""


class EngineFailed(GenerationError):
    """The engine raised while generating."""
