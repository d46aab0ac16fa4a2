"""API keys: made with high entropy, stored as sha256 hashes, checked in constant time; and their scopes.

A key reads `vk-<id>-<secret>`. The id finds the stored row; the secret's hash is compared with
`hmac.compare_digest`, so neither lookup nor comparison leaks the secret through timing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from app.gateway.clock import Clock
from app.gateway.errors import Forbidden, Unauthenticated
from app.gateway.store import GatewayStore, KeyRecord
from app.names import check_collection_name, check_tenant_name

PREFIX = "vk"
ENDPOINTS = ("answers", "chat", "embeddings", "documents", "collections", "jobs", "models", "usage")


@dataclass(frozen=True)
class Scopes:
    """What a key may touch; None means everything of that kind."""

    collections: frozenset[str] | None = None
    endpoints: frozenset[str] | None = None
    models: frozenset[str] | None = None

    def to_json(self) -> str:
        """The scopes as stored."""
        as_list = {k: sorted(v) if v is not None else None for k, v in self.__dict__.items()}
        return json.dumps(as_list)

    def describe(self) -> str:
        """The scopes for people: `all`, or `kind:value` items."""
        items = [
            f"{k[:-1]}:{v}"
            for k, values in self.__dict__.items()
            if values is not None
            for v in sorted(values)
        ]
        return " ".join(items) or "all"

    @classmethod
    def from_json(cls, text: str) -> Scopes:
        """Scopes from their stored form."""
        raw = json.loads(text)
        return cls(**{k: frozenset(v) if v is not None else None for k, v in raw.items()})

    @classmethod
    def parse(cls, items: list[str]) -> Scopes:
        """Scopes from `kind:value` items, e.g. `collection:docs`, `endpoint:answers`, `model:verity`."""
        found: dict[str, set[str]] = {}
        for item in items:
            kind, _, value = item.partition(":")
            field_name = {"collection": "collections", "endpoint": "endpoints", "model": "models"}.get(kind)
            if field_name is None or not value:
                raise ValueError(f"scope {item!r}: use collection:NAME, endpoint:NAME or model:NAME")
            if field_name == "collections":
                check_collection_name(value)
            if field_name == "endpoints" and value not in ENDPOINTS:
                raise ValueError(f"scope {item!r}: endpoints are {', '.join(ENDPOINTS)}")
            found.setdefault(field_name, set()).add(value)
        return cls(**{k: frozenset(v) for k, v in found.items()})


@dataclass(frozen=True)
class Caller:
    """Who is calling: the tenant, the key (None when auth is off) and the key's scopes."""

    tenant: str
    key_id: str | None = None
    scopes: Scopes = Scopes()

    def check_endpoint(self, endpoint: str) -> None:
        """Refuse an endpoint outside the key's scopes."""
        allowed = self.scopes.endpoints
        if allowed is not None and endpoint not in allowed:
            raise Forbidden(
                f"this key may not use the {endpoint} endpoints (scopes: {', '.join(sorted(allowed))})"
            )

    def check_model(self, model: str) -> None:
        """Refuse a model outside the key's scopes."""
        allowed = self.scopes.models
        if allowed is not None and model not in allowed:
            raise Forbidden(
                f"this key may not use the model {model!r} (allowed: {', '.join(sorted(allowed))})"
            )

    def collection(self, name: str | None) -> str | None:
        """The collection to use: a named one must be allowed; none means all, unless the key is limited."""
        allowed = self.scopes.collections
        if allowed is None or (name is not None and name in allowed):
            return name
        if name is None and len(allowed) == 1:
            return next(iter(allowed))
        listed = ", ".join(sorted(allowed))
        raise Forbidden(f"this key may only use the collections {listed}; name one of them")

    def may_see(self, collection: str) -> bool:
        """Whether a collection is within the key's scopes."""
        return self.scopes.collections is None or collection in self.scopes.collections


def hash_secret(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    store: GatewayStore, clock: Clock, tenant: str, scopes: Scopes, name: str = ""
) -> tuple[str, KeyRecord]:
    """Make and store a new key; returns the key (shown once) and its record.

    Raises `InvalidName` (a ValueError) when the tenant name breaks the name rule.
    """
    check_tenant_name(tenant)
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}-{key_id}-{secrets.token_urlsafe(32)}"
    record = KeyRecord(key_id, tenant, hash_secret(key), name, scopes.to_json(), clock.now())
    store.add_key(record)
    return key, record


def verify_key(store: GatewayStore, presented: str) -> Caller:
    """The caller a presented key stands for, or Unauthenticated."""
    parts = presented.split("-", 2)
    record = store.get_key(parts[1]) if len(parts) == 3 and parts[0] == PREFIX else None
    stored = record.hash if record is not None else hash_secret("no such key")
    if not hmac.compare_digest(hash_secret(presented), stored) or record is None:
        raise Unauthenticated("invalid API key: check the Authorization: Bearer header")
    if record.revoked_at is not None:
        raise Unauthenticated(f"the API key {record.id} was revoked")
    return Caller(record.tenant, record.id, Scopes.from_json(record.scopes))
