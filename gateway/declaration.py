"""What a route declares on `@api`, beside its handler: what it takes (path parameters, query,
body, headers), what it answers (status, schema or media types, other answers, errors),
whether it needs credentials and takes an Idempotency-Key, and which routes its answer leads
to. gateway/openapi.py builds the route's OpenAPI operation from this and nothing else.

Schemas are the marshmallow classes (or instances, e.g. `ListQuery(only=...)`) the handler
loads and dumps with; a media type (`CSV`, `HTML`, `PDF`, `XML`) stands for an answer that is
not JSON. A route's summary is its handler's docstring's first paragraph unless it gives one.
"""

import inspect
from dataclasses import dataclass, field

CSV, HTML, PDF, XML = "text/csv", "text/html", "application/pdf", "text/xml"
BODY_KINDS = ("json", "form", "upload")
IDEMPOTENCY = (None, "accepted", "required")


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,) if value is not None else ()


@dataclass(frozen=True)
class Answer:
    """An answer beside the route's main one: what it means and what it carries (schemas as
    JSON, or as application/problem+json with `problem`, and media types)."""

    description: str
    content: tuple = ()
    problem: bool = False

    def __post_init__(self):
        object.__setattr__(self, "content", _as_tuple(self.content))


@dataclass(frozen=True, eq=False)
class Declaration:
    """Every field has a default: a route states what differs. `missing` says what a route
    must still state for its OpenAPI entry."""

    summary: str | None = None
    description: str | None = None
    # {name: description}; every path parameter is listed whether described or not
    path_parameters: dict = field(default_factory=dict)
    query: object = None
    # the kind of body read: json; form (either form encoding); upload (a file as the body or
    # as a form's file field: a CSV, or the media types `request` names)
    body: str = "json"
    request: object = None           # the body's schema (a JSON schema dict for a form)
    request_required: bool = True
    request_headers: dict = field(default_factory=dict)   # {name: description}, required
    answer: object = ()              # schemas (as JSON) and media types of the main answer
    status: int = 200
    answer_description: str | None = None                 # default: the summary
    location: bool = False           # the main answer carries a Location to follow
    answers: dict = field(default_factory=dict)           # {status: Answer}
    errors: tuple = ()               # problem+json statuses; 401 comes with credentials
    public: bool = False             # no credentials: public pages, sign-in, webhooks
    idempotency_key: str | None = None                    # "accepted" or "required"
    follow: tuple = ()               # link targets of the main answer (see openapi.links)
    documented: bool = True          # False only for the document itself

    def __post_init__(self):
        object.__setattr__(self, "answer", _as_tuple(self.answer))
        if self.body not in BODY_KINDS:
            raise ValueError(f"body must be one of {', '.join(BODY_KINDS)}, not {self.body!r}")
        if self.idempotency_key not in IDEMPOTENCY:
            raise ValueError(f"idempotency_key must be 'accepted', 'required' or None, not "
                             f"{self.idempotency_key!r}")
        if self.body == "upload" and not (self.request is None or (
                isinstance(self.request, tuple) and all(isinstance(m, str)
                                                        for m in self.request))):
            raise ValueError("an upload's body is a file: it takes no request schema, only "
                             "the media types of its raw body (default: a CSV)")
        if not all(isinstance(a, Answer) for a in self.answers.values()):
            raise TypeError("answers maps statuses to Answer(description, content)")

    def missing(self, handler):
        """What the route leaves undeclared, for its OpenAPI entry: a summary, and what its
        main answer carries (a 204 carries nothing)."""
        if not self.documented:
            return []
        lacking = [] if self.summary_of(handler) else ["a summary (or a docstring)"]
        if not self.answer and self.status != 204:
            lacking.append("answer (a schema or a media type)")
        return lacking

    def summary_of(self, handler):
        """The summary given, else the docstring's first paragraph on one line (without
        the full stop that ends it)."""
        if self.summary:
            return self.summary
        doc = inspect.getdoc(handler) or ""
        return " ".join(doc.split("\n\n", 1)[0].split()).removesuffix(".")
