"""Refusals the server explains to its client: each has an HTTP status and a stable code.

    DomainError          400 bad_request
    ├── Unauthorized     401 unauthorized (no valid sign-in)
    ├── Forbidden        403 forbidden (signed in, but not allowed this)
    │   ├── NotAGuardian     403 not_a_guardian (a school slip from a number it did not list)
    │   └── NotYetAdult      403 not_yet_adult (a record claimed before the 18th birthday)
    ├── NotFound         404 not_found
    ├── Conflict         409 conflict
    │   ├── PhoneTaken       409 phone_taken (another account has this phone number)
    │   ├── AlreadyClaimed   409 account_has_phone (this account has one already)
    │   └── SmsNotConfigured 409 sms_not_configured (this server verifies no numbers)
    ├── Gone             410 gone (e.g. a campaign that ended)
    │   └── AlreadyAdult     410 already_adult (a guardian slip for a student now 18)
    ├── InvalidInput     422 invalid_input
    │   ├── CodeRequired      422 phone_code_required (prove the number first)
    │   ├── WrongCode         422 wrong_code (a phone code wrong, used or expired)
    │   └── BirthDateMismatch 422 birth_date_mismatch (a handover's birth date)
    ├── TooManyAttempts  429 too_many_attempts (with Retry-After)
    └── SmsUnavailable   503 sms_unavailable (the SMS gateway failed)
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


class NotAGuardian(Forbidden):
    code = "not_a_guardian"


class NotYetAdult(Forbidden):
    code = "not_yet_adult"


class Gone(DomainError):
    status = 410
    code = "gone"


class AlreadyAdult(Gone):
    code = "already_adult"


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SmsNotConfigured(Conflict):
    code = "sms_not_configured"


class CodeRequired(InvalidInput):
    code = "phone_code_required"


class WrongCode(InvalidInput):
    code = "wrong_code"


class BirthDateMismatch(InvalidInput):
    code = "birth_date_mismatch"


class SmsUnavailable(DomainError):
    status = 503
    code = "sms_unavailable"
