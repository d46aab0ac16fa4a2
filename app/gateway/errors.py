"""The gateway's errors, each carrying the HTTP status the API answers with.

GatewayError
├── Unauthenticated      401: no key, or a key that is unknown or revoked
├── Forbidden            403: the key's scopes do not cover this endpoint, collection or model
├── InsufficientCredits  402: the tenant's unexpired credits do not cover the request's maximum cost
├── RateLimited          429: a per-key or per-tenant limit; carries Retry-After and x-ratelimit-* headers
├── Overloaded           503 (or 429 for one tenant's share): the queue is full or its deadline passed
├── LimitsUnavailable    503: the shared rate-limit store (Redis) cannot be reached; carries Retry-After
├── KeyNotFound          404: no such key (admin operations)
├── InvalidGrant         400: a credit grant out of range (amount, times, priority) or a bad tenant name
└── AuthMisconfigured    refusing to serve on a public address with no key configured
"""

from __future__ import annotations

from collections.abc import Mapping


class GatewayError(Exception):
    """An error of the gateway: a message a person can act on, an HTTP status and an error code."""

    status = 400
    type = "invalid_request_error"
    code = "gateway_error"

    def __init__(self, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers: dict[str, str] = dict(headers or {})


class Unauthenticated(GatewayError):
    """No API key, or one that is unknown or revoked."""

    status, type, code = 401, "invalid_request_error", "invalid_api_key"


class Forbidden(GatewayError):
    """The key is valid but its scopes do not allow this."""

    status, type, code = 403, "permission_error", "scope_not_allowed"


class InsufficientCredits(GatewayError):
    """The tenant's unexpired credits do not cover the request's maximum cost."""

    status, type, code = 402, "insufficient_quota", "insufficient_credits"


class RateLimited(GatewayError):
    """A rate limit of the key or the tenant is exhausted for now."""

    status, type, code = 429, "rate_limit_error", "rate_limit_exceeded"


class Overloaded(GatewayError):
    """The engine's queue is full or the request waited past its deadline."""

    status, type, code = 503, "server_error", "overloaded"

    def __init__(self, message: str, retry_after: float, status: int = 503) -> None:
        super().__init__(message, {"Retry-After": str(max(1, round(retry_after)))})
        self.status = status
        if status == 429:  # one tenant's share of the queue is used up: that tenant's limit, not ours
            self.type = "rate_limit_error"


class LimitsUnavailable(GatewayError):
    """Redis, where the rate limits of every gateway process are kept, cannot be reached: the request is
    refused (it cannot be counted against its limits), never let through unlimited."""

    status, type, code = 503, "server_error", "limits_unavailable"

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message, {"Retry-After": str(retry_after)})


class KeyNotFound(GatewayError):
    """No key with that id."""

    status, type, code = 404, "invalid_request_error", "key_not_found"


class InvalidGrant(GatewayError):
    """A credit grant whose amount, times or priority are out of range, or whose tenant name is invalid."""

    status, type, code = 400, "invalid_request_error", "invalid_value"


class AuthMisconfigured(GatewayError):
    """Serving on a non-loopback address with no key would expose every tenant's data."""

    status, type, code = 500, "server_error", "auth_misconfigured"
