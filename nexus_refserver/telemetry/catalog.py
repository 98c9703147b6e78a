"""The 44 simulated services of the Nexus COS estate (seed 002), with their simulation profiles.

The seed's overview says 43 services but lists 44; the list wins. Each service gets a tier (its SLA class),
a traffic and latency profile, and optionally a database, sync detection or an order queue, which decide
which service-specific gauges it exports. `build_catalog(N)` (`--services N`) adds N-44 generated services in
the seed's style to the 44, for scale tests.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

DATABASES = ("users", "workstation", "marketplace", "nexus")


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    namespace: str
    port: int
    tier: int
    description: str
    base_rps: float
    p50_ms: float
    p95_ms: float
    endpoints: tuple[str, ...]
    database: str | None = None
    sync_detection: bool = False
    order_queue: bool = False
    memory_limit_mb: int = 512
    version: str = "1.0.0"

    def info(self) -> dict[str, object]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "port": self.port,
            "tier": self.tier,
            "description": self.description,
        }


def _svc(
    name: str,
    namespace: str,
    port: int,
    tier: int,
    description: str,
    base_rps: float,
    p50_ms: float,
    p95_ms: float,
    endpoints: tuple[str, ...],
    **extra: object,
) -> ServiceSpec:
    return ServiceSpec(name, namespace, port, tier, description, base_rps, p50_ms, p95_ms, endpoints, **extra)  # type: ignore[arg-type]


CATALOG: tuple[ServiceSpec, ...] = (
    # nexus-auth
    _svc("auth-service", "nexus-auth", 3021, 1, "Legacy authentication system", 120, 18, 60,
         ("/api/login", "/api/token/verify", "/api/logout"), database="users", version="1.8.4"),
    _svc("auth-service-v2", "nexus-auth", 3034, 1, "Modern auth with OAuth2/OIDC", 260, 15, 55,
         ("/oauth2/token", "/oauth2/authorize", "/oidc/userinfo"), database="users", version="2.3.1"),
    _svc("user-auth", "nexus-auth", 3024, 1, "User identity management", 180, 20, 70,
         ("/api/users/{id}", "/api/users/lookup", "/api/users"), database="users", version="1.12.0"),
    # nexus-content
    _svc("content-management", "nexus-content", 3022, 2, "CMS for digital content", 90, 35, 140,
         ("/api/content", "/api/content/{id}", "/api/content/publish"), database="workstation"),
    _svc("streaming-service-v2", "nexus-content", 3028, 1, "Live/VOD streaming", 300, 25, 110,
         ("/api/streams", "/api/streams/{id}/manifest", "/api/sync/detect"), database="workstation",
         sync_detection=True, memory_limit_mb=2048, version="2.6.0"),
    _svc("puaboverse-v2", "nexus-content", 3027, 3, "Metaverse/virtual world platform", 60, 45, 180,
         ("/api/worlds", "/api/worlds/{id}/join"), memory_limit_mb=1536, version="2.0.3"),
    _svc("creator-hub-v2", "nexus-content", 3023, 2, "Content creator tools", 70, 40, 150,
         ("/api/creators/{id}", "/api/uploads", "/api/analytics"), database="workstation", version="2.1.0"),
    _svc("boom-boom-room-live", "nexus-content", 3029, 2, "Live entertainment service", 110, 30, 120,
         ("/api/rooms", "/api/rooms/{id}/sync", "/api/rooms/{id}/chat"), sync_detection=True,
         memory_limit_mb=1024),
    # nexus-ai
    _svc("kei-ai", "nexus-ai", 3025, 2, "Conversational AI assistant", 40, 170, 340,
         ("/api/chat", "/api/intents"), memory_limit_mb=4096, version="0.9.2"),
    _svc("nexus-cos-studio-ai", "nexus-ai", 3026, 3, "AI studio tools", 15, 200, 360,
         ("/api/generate", "/api/jobs/{id}"), memory_limit_mb=4096),
    _svc("puaboai-sdk", "nexus-ai", 3003, 3, "AI SDK for third-party integration", 25, 60, 220,
         ("/v1/models", "/v1/infer")),
    _svc("ai-service", "nexus-ai", 3001, 2, "Core AI processing service", 80, 110, 320,
         ("/api/infer", "/api/embeddings", "/api/jobs"), memory_limit_mb=4096, version="1.4.0"),
    _svc("recommendation-engine", "nexus-ai", 3044, 2, "ML-powered recommendations", 150, 45, 190,
         ("/api/recommendations/{user}", "/api/feedback"), database="nexus", memory_limit_mb=2048),
    # nexus-commerce
    _svc("puabo-nuki-order-processor", "nexus-commerce", 3018, 1, "Order processing", 140, 40, 160,
         ("/api/orders", "/api/orders/{id}", "/api/orders/{id}/pay"), database="marketplace",
         order_queue=True, version="3.2.0"),
    _svc("puabo-nuki-inventory-mgr", "nexus-commerce", 3017, 2, "Inventory management", 95, 25, 90,
         ("/api/inventory/{sku}", "/api/inventory/reserve"), database="marketplace"),
    _svc("puabo-nuki-product-catalog", "nexus-commerce", 3019, 2, "Product catalog", 240, 20, 80,
         ("/api/products", "/api/products/{id}", "/api/search"), database="marketplace"),
    _svc("puabo-nuki-shipping-service", "nexus-commerce", 3020, 2, "Shipping logistics", 45, 50, 170,
         ("/api/shipments", "/api/rates"), database="marketplace"),
    _svc("billing-service", "nexus-commerce", 3035, 1, "Billing and payments", 75, 55, 190,
         ("/api/charges", "/api/refunds", "/api/subscriptions"), database="marketplace", version="2.8.1"),
    _svc("invoice-gen", "nexus-commerce", 3032, 2, "Invoice generation", 20, 90, 300,
         ("/api/invoices", "/api/invoices/{id}/pdf"), database="marketplace"),
    _svc("ledger-mgr", "nexus-commerce", 3033, 1, "Financial ledger", 60, 30, 110,
         ("/api/entries", "/api/balances/{account}"), database="marketplace", version="1.6.2"),
    # nexus-finance
    _svc("puabo-blac-loan-processor", "nexus-finance", 3011, 2, "Loan origination", 12, 110, 350,
         ("/api/applications", "/api/applications/{id}"), database="nexus"),
    _svc("puabo-blac-risk-assessment", "nexus-finance", 3012, 2, "Risk analysis", 18, 130, 330,
         ("/api/score", "/api/reports/{id}"), database="nexus", memory_limit_mb=1024),
    _svc("token-mgr", "nexus-finance", 3031, 1, "Token economics management", 85, 22, 85,
         ("/api/tokens", "/api/tokens/validate"), database="users"),
    _svc("puabomusicchain", "nexus-finance", 3004, 3, "Blockchain for music rights", 10, 140, 340,
         ("/api/rights/{id}", "/api/transactions")),
    # nexus-logistics
    _svc("puabo-nexus-ai-dispatch", "nexus-logistics", 3013, 2, "AI dispatch system", 35, 80, 260,
         ("/api/dispatch", "/api/assignments/{id}"), database="nexus"),
    _svc("puabo-nexus-fleet-manager", "nexus-logistics", 3015, 2, "Fleet management", 30, 45, 160,
         ("/api/vehicles", "/api/vehicles/{id}/status"), database="nexus"),
    _svc("puabo-nexus-driver-app-backend", "nexus-logistics", 3014, 2, "Driver mobile app", 65, 35, 130,
         ("/api/drivers/{id}", "/api/trips", "/api/location"), database="nexus"),
    _svc("puabo-nexus-route-optimizer", "nexus-logistics", 3016, 3, "Route optimization", 15, 150, 330,
         ("/api/routes/optimize",), memory_limit_mb=1024),
    _svc("puabo-nexus", "nexus-logistics", 3050, 2, "Core logistics service", 50, 40, 150,
         ("/api/deliveries", "/api/deliveries/{id}"), database="nexus"),
    # nexus-platform
    _svc("backend-api", "nexus-platform", 3000, 1, "Main API gateway", 600, 30, 120,
         ("/api/v1/home", "/api/v1/profile", "/api/v1/search", "/api/v1/feed"), database="nexus",
         memory_limit_mb=1024, version="4.1.0"),
    _svc("session-mgr", "nexus-platform", 3030, 1, "Session management", 420, 8, 30,
         ("/api/sessions", "/api/sessions/{id}"), database="users", version="2.0.7"),
    _svc("scheduler", "nexus-platform", 3036, 2, "Job scheduling", 8, 25, 90,
         ("/api/jobs", "/api/jobs/{id}/run"), database="nexus"),
    _svc("notification-service", "nexus-platform", 3042, 2, "Push/email notifications", 130, 35, 140,
         ("/api/notify", "/api/templates"), database="nexus"),
    _svc("chat-service", "nexus-platform", 3043, 2, "Real-time chat", 210, 15, 60,
         ("/api/rooms/{id}/messages", "/api/presence"), database="nexus"),
    # nexus-entertainment
    _svc("v-caster-pro", "nexus-entertainment", 3037, 3, "Professional broadcasting", 25, 40, 160,
         ("/api/broadcasts", "/api/broadcasts/{id}/sync"), sync_detection=True, memory_limit_mb=1024),
    _svc("v-prompter-pro", "nexus-entertainment", 3038, 3, "Teleprompter service", 10, 20, 70,
         ("/api/scripts/{id}",)),
    _svc("v-screen-pro", "nexus-entertainment", 3039, 3, "Screen sharing", 20, 30, 110,
         ("/api/shares", "/api/shares/{id}")),
    _svc("vscreen-hollywood", "nexus-entertainment", 3040, 3, "Hollywood-grade production", 8, 90, 320,
         ("/api/productions", "/api/renders/{id}"), database="workstation", memory_limit_mb=2048),
    _svc("glitch", "nexus-entertainment", 3007, 3, "Gaming integration", 40, 25, 95,
         ("/api/games", "/api/leaderboards/{id}")),
    # nexus-specialized
    _svc("puabo-dsp-upload-mgr", "nexus-specialized", 3008, 3, "Digital service provider uploads",
         12, 120, 330,
         ("/api/uploads", "/api/uploads/{id}"), database="workstation"),
    _svc("puabo-dsp-metadata-mgr", "nexus-specialized", 3009, 3, "Metadata management", 30, 30, 120,
         ("/api/metadata/{id}", "/api/metadata/search"), database="workstation"),
    _svc("puabo-dsp-streaming-api", "nexus-specialized", 3010, 2, "Streaming API", 95, 28, 115,
         ("/api/tracks/{id}/stream", "/api/sync/detect"), sync_detection=True),
    _svc("key-service", "nexus-specialized", 3002, 1, "Cryptographic key management", 55, 6, 22,
         ("/api/keys/{id}", "/api/sign", "/api/verify"), database="users", version="1.3.5"),
    _svc("pv-keys", "nexus-specialized", 3005, 3, "PuaboVerse key service", 14, 8, 30,
         ("/api/keys/{id}",)),
)  # fmt: skip

CATALOG_BY_NAME: dict[str, ServiceSpec] = {spec.name: spec for spec in CATALOG}
NAMESPACES: tuple[str, ...] = tuple(dict.fromkeys(spec.namespace for spec in CATALOG))

# ---- `--services N`: the seed's 44 services, then generated ones in their style ------------------------

SEED_SERVICE_COUNT = len(CATALOG)
MAX_SERVICES = 5000
# Generated ports follow the seed's (3000-3050); with the default multi-port offset (20000) the last of
# MAX_SERVICES stays below the ephemeral port range (32768).
GENERATED_PORT_BASE = 3100
# A generated estate opens one more namespace per this many services (the seed has ~5 per namespace; big
# estates have more per team), up to the families below.
SERVICES_PER_NAMESPACE = 40


@dataclass(frozen=True, slots=True)
class _Family:
    """How one namespace names its services and what they depend on."""

    namespace: str
    prefixes: tuple[str, ...]
    nouns: tuple[str, ...]
    databases: tuple[str | None, ...]  # drawn uniformly; None: no database
    tiers: tuple[int, ...]  # drawn uniformly
    memory_mb: tuple[int, ...] = (512, 512, 512, 1024)
    sync_share: float = 0.0  # share of the family's services with sync detection


_FAMILIES: tuple[_Family, ...] = (
    # the seed's nine namespaces first, so a small estate stays inside them
    _Family("nexus-auth", ("", "nexus-"), ("auth", "identity", "sso", "mfa", "consent", "password",
            "device-trust", "oauth", "permission", "profile"), ("users", "users", None), (1, 1, 2)),
    _Family("nexus-content", ("", "creator-"), ("content", "media", "transcode", "thumbnail", "caption",
            "playlist", "asset", "publish", "stream", "upload"), ("workstation", "workstation", None),
            (1, 2, 2, 3), (512, 1024, 2048), 0.25),
    _Family("nexus-ai", ("nexus-ai-", "kei-ai-", "puaboai-"), ("inference", "embedding", "ranking",
            "moderation", "vision", "speech", "translation", "summarizer", "feature", "training"),
            ("nexus", None, None), (2, 2, 3), (1024, 2048, 4096)),
    _Family("nexus-commerce", ("puabo-nuki-",), ("cart", "checkout", "pricing", "promo", "returns",
            "wishlist", "tax", "fulfillment", "vendor", "review", "order"), ("marketplace",), (1, 2, 2)),
    _Family("nexus-finance", ("puabo-blac-", ""), ("credit", "payout", "kyc", "fraud", "statement",
            "wallet", "fx", "collections", "ledger", "limit"), ("nexus", "users", None), (1, 2, 2, 3)),
    _Family("nexus-logistics", ("puabo-nexus-",), ("dispatch", "tracking", "geofence", "eta", "dock",
            "warehouse", "parcel", "telematics", "route", "pickup"), ("nexus", "nexus", None), (2, 2, 3)),
    _Family("nexus-platform", ("", "nexus-"), ("gateway", "config", "feature-flag", "audit", "search",
            "webhook", "queue", "cache", "rate-limit", "scheduler"), ("nexus", "users", None), (1, 1, 2)),
    _Family("nexus-entertainment", ("v-", "vscreen-"), ("caster", "stage", "replay", "clip", "overlay",
            "lobby", "tournament", "prompter", "scene", "broadcast"), ("workstation", None, None),
            (2, 3, 3), (512, 1024, 2048), 0.3),
    _Family("nexus-specialized", ("puabo-dsp-", "pv-"), ("royalty", "ingest", "delivery", "isrc", "rights",
            "report", "metadata", "keys", "catalog", "split"), ("workstation", None), (2, 3, 3)),
    # more teams, opened as the estate grows
    _Family("nexus-media", ("puabo-", "nexus-"), ("image", "video", "audio", "cdn", "drm", "encoder",
            "packager", "origin", "preview", "waveform"), ("workstation", None), (1, 2, 2), (1024, 2048),
            0.2),
    _Family("nexus-search", ("nexus-",), ("index", "query", "suggest", "spell", "facet", "crawler",
            "synonym", "relevance", "autocomplete", "shard"), ("nexus", None), (1, 2, 2), (1024, 2048)),
    _Family("nexus-identity", ("", "user-"), ("directory", "group", "role", "invite", "avatar", "locale",
            "preference", "verification", "recovery", "federation"), ("users",), (1, 2, 2)),
    _Family("nexus-payments", ("puabo-pay-", ""), ("card", "payment", "refund", "dispute", "settlement",
            "payout", "invoice", "subscription", "receipt", "chargeback"), ("marketplace",), (1, 1, 2)),
    _Family("nexus-messaging", ("", "nexus-"), ("chat", "push", "email", "sms", "inbox", "presence",
            "digest", "template", "mention", "thread"), ("nexus", None), (1, 2, 2)),
    _Family("nexus-analytics", ("nexus-", "puabo-"), ("events", "funnel", "cohort", "dashboard",
            "attribution", "retention", "export", "metric", "session-replay", "experiment"),
            ("nexus", None), (2, 3, 3), (1024, 2048)),
    _Family("nexus-edge", ("edge-", ""), ("proxy", "waf", "dns", "tls", "ingress", "bot-guard",
            "geo", "redirect", "shield", "balancer"), (None,), (1, 1, 2)),
    _Family("nexus-devices", ("puabo-", ""), ("device", "firmware", "pairing", "beacon", "ultrasound",
            "remote", "casting", "tv-app", "kiosk", "wearable"), ("users", None), (2, 3, 3), (512,), 0.4),
    _Family("nexus-partners", ("partner-", ""), ("onboarding", "portal", "contract", "api-key",
            "sandbox", "usage", "billing", "catalog-feed", "sla", "webhook"), ("marketplace", None),
            (2, 2, 3)),
    _Family("nexus-social", ("puabo-", ""), ("feed", "follow", "like", "comment", "share", "story",
            "reaction", "circle", "badge", "profile-card"), ("nexus", "users"), (1, 2, 2)),
    _Family("nexus-games", ("glitch-", "puabo-"), ("matchmaking", "leaderboard", "achievement", "lobby",
            "inventory", "season", "replay", "anticheat", "party", "quest"), ("nexus", None), (2, 3, 3)),
    _Family("nexus-music", ("puabomusic-", "puabo-"), ("track", "album", "artist", "lyrics", "radio",
            "charts", "royalty", "sample", "mix", "label"), ("workstation", None), (2, 2, 3), (512,), 0.2),
    _Family("nexus-mobility", ("puabo-nexus-",), ("ride", "fare", "surge", "vehicle", "driver-score",
            "incident", "shift", "charging", "parking", "toll"), ("nexus",), (1, 2, 2)),
    _Family("nexus-risk", ("puabo-blac-", ""), ("scoring", "rules", "sanctions", "velocity", "case",
            "alerting", "model", "review-queue", "blocklist", "aml"), ("nexus", "users"), (1, 2, 2),
            (1024, 2048)),
    _Family("nexus-support", ("", "nexus-"), ("ticket", "helpdesk", "macro", "survey", "kb", "escalation",
            "callback", "chatbot", "sla-timer", "feedback"), ("nexus", None), (2, 3, 3)),
    _Family("nexus-ads", ("puabo-", ""), ("campaign", "bidder", "creative", "pacing", "targeting",
            "impression", "click", "budget", "audience", "placement"), ("marketplace", None), (1, 2, 3),
            (1024, 2048)),
)  # fmt: skip

_SUFFIXES = {
    "service": "service",
    "mgr": "management",
    "api": "API",
    "processor": "processing",
    "worker": "background jobs",
    "engine": "engine",
    "gateway": "gateway",
    "sync": "synchronisation",
    "hub": "hub",
    "store": "storage",
}
_VERSION_TAGS = ("", "", "", "-v2", "-v3")
_UNCOUNTED = frozenset({
    "media", "content", "audio", "metadata", "feedback", "fx", "kb", "waf", "geo", "kyc", "aml", "drm",
    "cdn", "dns", "tls", "usage", "lyrics", "charts", "keys", "events", "rules", "returns", "collections",
    "telematics", "speech", "fraud", "tracking", "matchmaking", "ultrasound", "radio", "surge", "parking",
})  # fmt: skip
_ACRONYMS = {
    "tls": "TLS", "mfa": "MFA", "sso": "SSO", "kyc": "KYC", "fx": "FX", "dns": "DNS", "waf": "WAF",
    "drm": "DRM", "cdn": "CDN", "isrc": "ISRC", "aml": "AML", "sla": "SLA", "tv": "TV", "kb": "KB",
    "api": "API", "eta": "ETA", "sms": "SMS", "oauth": "OAuth",
}  # fmt: skip
# median requests per second and range of p50 latency (ms) per tier
_TIER_PROFILES = {1: (150.0, 6.0, 45.0), 2: (55.0, 15.0, 110.0), 3: (18.0, 8.0, 150.0)}
_MAX_P95_MS = 330.0  # like the seed: no service starts above the 500 ms alert threshold


def build_catalog(services: int | None = None, seed: int = 42) -> tuple[ServiceSpec, ...]:
    """The estate's services: the seed's 44, then `services - 44` generated in their style (names like
    "puabo-nuki-cart-api" in namespaces like "nexus-commerce", tiers, traffic and latency profiles,
    databases), deterministic for a seed. None (or 44) is the seed's catalogue itself."""
    if services is None or services == SEED_SERVICE_COUNT:
        return CATALOG
    if not SEED_SERVICE_COUNT <= services <= MAX_SERVICES:
        raise ValueError(
            f"the estate has between {SEED_SERVICE_COUNT} (the seed's) and {MAX_SERVICES} services, "
            f"got {services}"
        )
    rng = random.Random(seed * 1_000_003 + SEED_SERVICE_COUNT)
    count = services - SEED_SERVICE_COUNT
    families = _FAMILIES[: max(9, min(len(_FAMILIES), math.ceil(services / SERVICES_PER_NAMESPACE)))]
    taken = {spec.name for spec in CATALOG}
    generated = [
        _generated_service(rng, families[i % len(families)], GENERATED_PORT_BASE + i, taken)
        for i in range(count)
    ]
    return CATALOG + tuple(generated)


def _generated_service(rng: random.Random, family: _Family, port: int, taken: set[str]) -> ServiceSpec:
    for _ in range(40):
        prefix, noun = rng.choice(family.prefixes), rng.choice(family.nouns)
        suffix, tag = rng.choice(tuple(_SUFFIXES)), rng.choice(_VERSION_TAGS)
        name = f"{prefix}{noun}-{suffix}{tag}"
        if name not in taken:
            break
    else:  # the family's names are used up: number them
        base = name
        name = next(f"{base}-{n}" for n in range(2, 10**6) if f"{base}-{n}" not in taken)
    taken.add(name)
    tier = rng.choice(family.tiers)
    median_rps, p50_low, p50_high = _TIER_PROFILES[tier]
    base_rps = round(min(8.0 * median_rps, max(8.0, rng.lognormvariate(math.log(median_rps), 0.6))), 1)
    p50 = round(rng.uniform(p50_low, p50_high))
    p95 = p50 * rng.uniform(2.6, 4.2)
    if p95 > _MAX_P95_MS:
        p95 = _MAX_P95_MS - rng.uniform(0.0, 60.0)
    plural = _plural(noun)
    endpoints = [f"/api/{plural}", f"/api/{plural}/{{id}}"]
    if suffix == "sync":
        endpoints.append(f"/api/{plural}/{{id}}/sync")
    elif rng.random() < 0.4:
        endpoints.append(f"/api/{plural}/search")
    major = int(tag[2:]) if tag else rng.choice((0, 1, 1, 1, 2))
    return ServiceSpec(
        name=name,
        namespace=family.namespace,
        port=port,
        tier=tier,
        description=_describe(noun, _SUFFIXES[suffix]),
        base_rps=base_rps,
        p50_ms=float(p50),
        p95_ms=float(round(p95)),
        endpoints=tuple(endpoints),
        database=rng.choice(family.databases),
        sync_detection=rng.random() < family.sync_share,
        order_queue=family.namespace == "nexus-commerce" and noun in ("order", "checkout"),
        memory_limit_mb=rng.choice(family.memory_mb),
        version=f"{major}.{rng.randrange(20)}.{rng.randrange(10)}",
    )


def _plural(noun: str) -> str:
    if noun in _UNCOUNTED or noun.endswith("s"):
        return noun
    if noun.endswith(("x", "ch", "sh")):
        return f"{noun}es"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "o", "u"):
        return f"{noun[:-1]}ies"
    return f"{noun}s"


def _describe(noun: str, what: str) -> str:
    words = [_ACRONYMS.get(word, word) for word in noun.split("-")]
    first = words[0] if words[0] != words[0].lower() else words[0].capitalize()
    return " ".join([first, *words[1:], what])
