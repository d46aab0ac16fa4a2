"""Safety errors (the training sets' readers, in eval/training, raise eval's DatasetError).

SafetyError
├── SafetyModelError     the shipped classifier weights are missing or unreadable
├── SafetyPolicyError    a policy names an unknown category or action
└── SafetyStoreError     the verdict store cannot be opened
"""

from __future__ import annotations


class SafetyError(Exception):
    """Base of every safety error."""


class SafetyModelError(SafetyError):
    """Classifier weights are missing or unreadable."""


class SafetyPolicyError(SafetyError):
    """A policy names a category or an action that does not exist."""


class SafetyStoreError(SafetyError):
    """The SQLite file of passage verdicts cannot be opened."""
