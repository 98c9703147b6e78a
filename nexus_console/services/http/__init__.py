"""HTTP plumbing shared by every source: clients with the profile's TLS settings, the estate fan-out's lean
GET path, conditional GETs, limits on what the network sends, JSON parsed off the GUI thread, and error
texts a person can act on."""

from nexus_console.services.http.bounded import get_json, read_limited, send_limited
from nexus_console.services.http.client import (
    EstateClient,
    build_estate_client,
    build_http_client,
    get_directly,
)
from nexus_console.services.http.conditional import ConditionalGetter, ConditionalResponse
from nexus_console.services.http.errors import FetchError, describe_error, parse_json_body, short_url
from nexus_console.services.http.json_parse import parse_json
from nexus_console.services.http.limits import (
    ALERT_PAGE_LIMITS,
    ALERTMANAGER_LIMITS,
    API_DOCUMENT_LIMITS,
    API_PATH_LIMITS,
    HEALTH_DOCUMENT_LIMITS,
    METRICS_SCRAPE_LIMITS,
    PROBE_BODY_LIMITS,
    PROMETHEUS_LIMITS,
    BodyTooLarge,
    ResponseLimits,
    ResponseRefused,
    TooManyItems,
)

__all__ = [
    "ALERTMANAGER_LIMITS",
    "ALERT_PAGE_LIMITS",
    "API_DOCUMENT_LIMITS",
    "API_PATH_LIMITS",
    "HEALTH_DOCUMENT_LIMITS",
    "METRICS_SCRAPE_LIMITS",
    "PROBE_BODY_LIMITS",
    "PROMETHEUS_LIMITS",
    "BodyTooLarge",
    "ConditionalGetter",
    "ConditionalResponse",
    "EstateClient",
    "FetchError",
    "ResponseLimits",
    "ResponseRefused",
    "TooManyItems",
    "build_estate_client",
    "build_http_client",
    "describe_error",
    "get_directly",
    "get_json",
    "parse_json",
    "parse_json_body",
    "read_limited",
    "send_limited",
    "short_url",
]
