"""Domain errors. They cross RPC as themselves (nameko's deserialize_to_instance) and the
gateway maps each to one HTTP status and an application/problem+json body."""

from nameko.exceptions import deserialize_to_instance


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail, field=None):
        # nameko sends every argument as text: a field that is not there is not sent at all,
        # or it would arrive as the word "None"
        super().__init__(detail, *([field] if field is not None else []))
        self.detail = detail
        self.field = field

    def __str__(self):
        return self.detail if not self.field else f"{self.field}: {self.detail}"


@deserialize_to_instance
class InvalidRequest(DomainError):
    status = 422
    title = "Invalid request"


@deserialize_to_instance
class Unsupported(DomainError):
    status = 422
    title = "Not supported yet"


@deserialize_to_instance
class NotFound(DomainError):
    status = 404
    title = "Not found"


@deserialize_to_instance
class Unauthenticated(DomainError):
    status = 401
    title = "Unauthenticated"


@deserialize_to_instance
class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


@deserialize_to_instance
class Conflict(DomainError):
    status = 409
    title = "Conflict"


@deserialize_to_instance
class OrganizationChoice(DomainError):
    """The email and password sign in to several organizations: the caller names one. Only
    said once the password is proven, so it tells nothing to someone guessing."""

    status = 409
    title = "Choose an organization"

    def __init__(self, detail, field=None, organizations=()):
        super().__init__(detail, field)
        self.organizations = [dict(o) for o in organizations]
        self.args = (detail, field, self.organizations)   # crosses RPC whole

    @property
    def members(self):
        """Extra members of its problem+json body."""
        return {"organizations": self.organizations}


@deserialize_to_instance
class IdempotencyKeyReused(DomainError):
    status = 422
    title = "Idempotency key reused with a different request"


@deserialize_to_instance
class InsufficientCredits(DomainError):
    status = 402
    title = "Insufficient credits"


@deserialize_to_instance
class ServiceUnavailable(DomainError):
    status = 503
    title = "Service unavailable"


@deserialize_to_instance
class TooManyAttempts(DomainError):
    status = 429
    title = "Too many attempts"


@deserialize_to_instance
class Gone(DomainError):
    """It existed but may not be used any more (an expired signed link)."""

    status = 410
    title = "Gone"


@deserialize_to_instance
class PayloadTooLarge(DomainError):
    """A request body over the gateway's limit for its kind (JSON, form, upload)."""

    status = 413
    title = "Payload too large"
