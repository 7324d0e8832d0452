"""Refusals the server explains to its client: each has an HTTP status and a stable code.

    DomainError          400 bad_request
    ├── Unauthorized     401 unauthorized (no valid sign-in)
    ├── Forbidden        403 forbidden (signed in, but not allowed this)
    ├── NotFound         404 not_found
    ├── Conflict         409 conflict
    │   ├── PhoneTaken       409 phone_taken (another account has this phone number)
    │   └── AlreadyClaimed   409 account_has_phone (this account has one already)
    ├── Gone             410 gone (e.g. a campaign that ended)
    ├── InvalidInput     422 invalid_input
    └── TooManyAttempts  429 too_many_attempts (with Retry-After)
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the server understood but refuses; ``status`` and ``code`` go to the client."""

    status = 400
    code = "bad_request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class PhoneTaken(Conflict):
    code = "phone_taken"


class AlreadyClaimed(Conflict):
    code = "account_has_phone"


class Gone(DomainError):
    status = 410
    code = "gone"


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
