"""The gateway in one object: who is calling, may they run this, what did it cost.

`admit` checks rate limits and holds the request's maximum cost in credits; `settle` records the
request in the usage ledger, charges its actual cost (never more than held) and releases the rest.
Every metered request appears in the ledger exactly once, refused ones (402, 429) included.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from app.gateway.clock import Clock
from app.gateway.credits import Grant, grant_problem
from app.gateway.errors import (
    AuthMisconfigured,
    Forbidden,
    GatewayError,
    InvalidGrant,
    KeyNotFound,
    Unauthenticated,
)
from app.gateway.keys import Caller, Scopes, create_key, verify_key
from app.gateway.limits import Admission, Limiter
from app.gateway.scheduler import FairScheduler
from app.gateway.store import GatewayStore, KeyRecord
from app.gateway.usage import Prices, Settled, UsageRecord
from app.names import InvalidName, check_tenant_name
from retrieval.types import DEFAULT_TENANT

AuthMode = Literal["auto", "required", "off"]


@dataclass
class Ticket:
    """An admitted request: who, what, when, and what it holds in limits and credits."""

    request_id: str
    caller: Caller
    endpoint: str
    model: str
    at: float
    started: float
    admission: Admission
    held: int | None


def is_loopback(host: str) -> bool:
    """Whether an address only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Gateway:
    """Authentication, limits, credits and the ledger, over one store and one clock."""

    def __init__(
        self,
        store: GatewayStore,
        clock: Clock,
        limiter: Limiter,
        scheduler: FairScheduler,
        prices: Prices,
        auth: AuthMode = "auto",
        credits_required: bool = False,
        admin_key: str | None = None,
    ) -> None:
        self.store, self.clock, self.limiter, self.scheduler, self.prices = (
            store, clock, limiter, scheduler, prices)  # fmt: skip
        self.auth, self.credits_required = auth, credits_required
        self.observers: list[Callable[[Settled], None]] = []  # told of each metered request as it ends
        self._admin_key = admin_key

    def check_admin(self, presented: str | None) -> None:
        """Let through only the admin key (VERITY_ADMIN_KEY), compared in constant time."""
        if self._admin_key is None:
            raise Forbidden("the admin API is off: set VERITY_ADMIN_KEY to use it")
        if not hmac.compare_digest((presented or "").encode(), self._admin_key.encode()):
            raise Unauthenticated("invalid admin key")

    def create_key(self, tenant: str, scopes: Scopes, name: str = "") -> tuple[str, KeyRecord]:
        """Make and store a key for a tenant; returns the key (shown once) and its record."""
        return create_key(self.store, self.clock, tenant, scopes, name)

    def list_keys(self, tenant: str | None = None) -> list[KeyRecord]:
        """Every key (or one tenant's), oldest first."""
        return self.store.list_keys(tenant)

    def revoke_key(self, key_id: str) -> KeyRecord:
        """Revoke a key now; `KeyNotFound` when there is none with that id."""
        self.store.revoke_key(key_id, self.clock.now())
        record = self.store.get_key(key_id)
        if record is None:
            raise KeyNotFound(f"no key with id {key_id!r}")
        return record

    def change_scopes(self, key_id: str, scopes: Scopes) -> tuple[KeyRecord, KeyRecord]:
        """Give a key new scopes; returns its record before and after. `KeyNotFound` when absent."""
        before = self.store.get_key(key_id)
        if before is None:
            raise KeyNotFound(f"no key with id {key_id!r}")
        self.store.set_scopes(key_id, scopes.to_json())
        after = self.store.get_key(key_id)
        assert after is not None
        return before, after

    def grants(self, tenant: str) -> list[tuple[Grant, int]]:
        """The tenant's credit blocks with what is left of each."""
        return self.store.grants(tenant)

    def balance(self, tenant: str, at: float | None = None) -> int:
        """The tenant's credits left at `at` (default now); open holds count as spent."""
        return self.store.balance(tenant, self.clock.now() if at is None else at)

    def usage(self, tenant: str, start: float | None = None, end: float | None = None) -> list[UsageRecord]:
        """The tenant's requests in the ledger with `start <= at < end`, oldest first."""
        return self.store.usage(tenant, start, end)

    def auth_enabled(self) -> bool:
        """On when required, or (by default) once any key was ever created; off only when set off."""
        return self.auth == "required" or (self.auth == "auto" and self.store.has_keys())

    def check_serving(self, host: str) -> None:
        """Refuse to serve a public address with auth off by default: everyone would be tenant default."""
        if self.auth == "off" or is_loopback(host) or self.auth_enabled():
            return
        raise AuthMisconfigured(
            f"refusing to serve on {host} with no API key: create one (verity keys create --tenant NAME), "
            "or set VERITY_AUTH=off to serve without authentication"
        )

    def authenticate(self, bearer: str | None) -> Caller:
        """The caller behind a bearer key; the default tenant when auth is off."""
        if not self.auth_enabled():
            return Caller(DEFAULT_TENANT)
        if not bearer:
            raise Unauthenticated("missing API key: send Authorization: Bearer <key>")
        return verify_key(self.store, bearer)

    def grant(
        self,
        tenant: str,
        amount: int,
        expires_at: float | None = None,
        priority: int = 0,
        idempotency_key: str | None = None,
        granted_at: float | None = None,
    ) -> tuple[Grant, bool]:
        """Grant a credit block; the same idempotency key twice grants once (then returns False).

        Raises `InvalidGrant` for a tenant name that breaks the name rule or values out of range.
        """
        key = idempotency_key or f"grant_{uuid.uuid4().hex}"
        at = self.clock.now() if granted_at is None else granted_at
        try:
            check_tenant_name(tenant)
        except InvalidName as exc:
            raise InvalidGrant(str(exc)) from exc
        if problem := grant_problem(amount, (at, expires_at), priority):
            raise InvalidGrant(problem)
        block = Grant(key, amount, at, expires_at, priority)
        return block, self.store.grant(tenant, block)

    def credits_enforced(self, tenant: str) -> bool:
        """Credits apply to tenants ever granted any, or to all when VERITY_CREDITS_REQUIRED is set."""
        return self.credits_required or self.store.has_grants(tenant)

    def admit(
        self, caller: Caller, endpoint: str, model: str, max_tokens: int, estimate: int, stream: bool = False
    ) -> Ticket:
        """Take rate-limit allowance and hold the maximum cost; refusals are recorded, then raised."""
        request_id, at = f"req_{uuid.uuid4().hex}", self.clock.now()
        try:
            admission = self.limiter.admit(caller.tenant, caller.key_id, estimate, stream)
        except GatewayError as exc:
            self._refused(request_id, caller, endpoint, model, at, exc)
            raise
        held = None
        if self.credits_enforced(caller.tenant):
            try:
                held = self.store.hold(caller.tenant, request_id, at, self.prices.cost(model, max_tokens))
            except GatewayError as exc:
                self.limiter.settle(admission, 0)
                self._refused(request_id, caller, endpoint, model, at, exc)
                raise
        return Ticket(request_id, caller, endpoint, model, at, time.perf_counter(), admission, held)

    def _refused(
        self, request_id: str, caller: Caller, endpoint: str, model: str, at: float, exc: GatewayError
    ) -> None:
        record = UsageRecord(request_id, caller.tenant, caller.key_id, endpoint, model, at, exc.status)
        self.store.record(record)

    def settle(
        self,
        ticket: Ticket,
        tokens_in: int,
        tokens_out: int,
        status: int,
        latency_ms: Mapping[str, float] | None = None,
    ) -> int:
        """Record the request, charge its real cost (up to the hold) and release the rest."""
        tokens = tokens_in + tokens_out
        self.limiter.settle(ticket.admission, tokens)
        record = UsageRecord(
            ticket.request_id,
            ticket.caller.tenant,
            ticket.caller.key_id,
            ticket.endpoint,
            ticket.model,
            ticket.at,
            status,
            tokens_in,
            tokens_out,
            self.prices.cost(ticket.model, tokens),
            (time.perf_counter() - ticket.started) * 1000,
            dict(latency_ms or {}),
        )
        return self.store.settle(record, held=ticket.held is not None)
