"""HTTP plumbing shared by every source: clients with the profile's TLS settings, the estate fan-out's lean
GET path, conditional GETs, and error texts a person can act on."""

from nexus_console.services.http.client import (
    EstateClient,
    build_estate_client,
    build_http_client,
    get_directly,
)
from nexus_console.services.http.conditional import ConditionalGetter, ConditionalResponse
from nexus_console.services.http.errors import FetchError, describe_error, parse_json_body, short_url

__all__ = [
    "ConditionalGetter",
    "ConditionalResponse",
    "EstateClient",
    "FetchError",
    "build_estate_client",
    "build_http_client",
    "describe_error",
    "get_directly",
    "parse_json_body",
    "short_url",
]
