"""Settings, read once from the environment (prefix GUSP_) by whoever builds the app."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gusp import DEFAULT_DATABASE_URL

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_DIR / "data"


# The Géoplateforme's Plan IGN (WMTS, Web Mercator) in the {z}/{x}/{y} form Leaflet reads: public,
# no key, Licence Ouverte (Etalab 2.0).
IGN_PLAN_TILES = (
    "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM&FORMAT=image/png"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
)
IGN_PLAN_ATTRIBUTION = "© IGN – Plan IGN"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GUSP_", extra="ignore")

    env: str = Field(
        "production", pattern="^(production|development)$",
        description="production: `gusp serve` refuses to start without public_url; development: relative links allowed.",
    )
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the PostgreSQL/PostGIS database.",
    )
    media_dir: Path = Field(PROJECT_DIR / "var" / "media", description="Where stored photos live.")
    media_url: str = Field("", description="s3://bucket/prefix: photos in an S3-compatible store; empty: media_dir.")
    s3_endpoint_url: str = Field("", description="S3 endpoint, e.g. https://s3.fr-par.scw.cloud; empty: AWS.")
    s3_access_key: str = Field("", description="S3 access key id.")
    s3_secret_key: str = Field("", description="S3 secret access key.")
    s3_region: str = Field("", description="S3 region (signature); empty: asked to the store.")
    s3_timeout_s: float = Field(10.0, gt=0, description="S3 connection and read timeout.")
    media_sweep_grace_hours: float = Field(
        24.0, gt=0, description="Unreferenced photo files younger than this are left alone by the sweep."
    )
    public_url: str = Field(
        "", description="Absolute base URL of the site (https://…), put before every link of mails and photos; "
        "empty: relative links (development only)."
    )
    max_photo_bytes: int = Field(15 * 1024 * 1024, gt=0, description="Largest accepted photo file, in bytes.")
    max_photos: int = Field(5, ge=0, le=20, description="Most photos on one report.")
    max_image_pixels: int = Field(
        60_000_000, gt=0, description="Largest decoded image (width × height); beyond it: refused as a bomb."
    )
    display_max_px: int = Field(2048, gt=0, description="Long side of the stored display photo.")
    thumbnail_max_px: int = Field(400, gt=0, description="Long side of the stored thumbnail.")
    jpeg_quality: int = Field(85, ge=30, le=95, description="Quality of stored JPEG files.")
    face_detection_px: int = Field(
        1024, ge=320, le=4096, description="Long side of the image the face detector sees (faces are blurred at intake)."
    )
    face_model_file: Path | None = Field(
        None, description="CenterFace ONNX file of the face detector; empty: the one shipped in gusp/photos/models."
    )
    decode_memory_mb: int = Field(
        512, ge=64, description="Memory (MiB) that photo decodes may hold at once in the process; larger photos are refused."
    )
    decode_wait_s: float = Field(
        20.0, ge=0, description="How long a photo waits for its share of decode_memory_mb before a 503 with Retry-After."
    )
    service_area_margin_m: float = Field(
        5000.0, ge=0, description="Margin around the communes' perimeters where reports are accepted."
    )
    categories_file: Path = Field(DATA_DIR / "categories.json", description="Seed file of categories.")
    perimeters_file: Path = Field(DATA_DIR / "qpv_perimetres.geojson", description="Perimeters loaded by set-up.")
    timezone: str = Field("Europe/Paris", description="Time zone of the reference year and of displayed dates.")
    commune_population: int | None = Field(
        147_478, ge=1, description="Inhabitants of the commune (Insee, population municipale 2021): the rate outside "
                                   "the QPV is reports hors périmètre per 1,000 of those living outside every "
                                   "loaded perimeter.",
    )

    open311_media_timeout_s: float = Field(
        10.0, gt=0, description="Open311 media_url: one deadline for the whole fetch (DNS, connection, download)."
    )
    open311_media_allowed_hosts: list[str] = Field(
        default_factory=list, description="Open311 media_url: hosts exempt from the public-address check."
    )
    open311_cors_origins: list[str] = Field(
        default_factory=lambda: ["*"], description="Open311 GETs: origins allowed by CORS (JSON list; [\"*\"]: any)."
    )
    open311_dedupe_minutes: int = Field(
        60, ge=0, le=1440, description="Open311 POSTs: an identical POST from the same client this recent is a retry."
    )
    open311_client_timeout_s: float = Field(
        30.0, gt=0, description="GUSP as an Open311 client: timeout of each call to a partner's server."
    )
    open311_poll_minutes: int = Field(
        10, ge=1, description="GUSP as an Open311 client: how often the worker fetches partners' updates."
    )

    tile_url: str = Field(
        IGN_PLAN_TILES,
        description="Map background tiles ({z}/{x}/{y} template); default: the Géoplateforme's Plan IGN; "
        "empty or `none`: no tiles (perimeters and markers on a plain background).",
    )
    tile_attribution: str = Field(
        "", description="Attribution shown with the tiles; empty: « © IGN – Plan IGN » for the default tiles."
    )
    map_cache_mb: int = Field(64, ge=0, le=4096, description="Memory for rendered report map tiles, per process.")
    map_overdue_lag_s: int = Field(
        300, ge=1, le=86_400, description="Longest a cached map tile is reused while time passes (« en retard » flags)."
    )
    web_vendor_dir: Path = Field(
        PROJECT_DIR / "web" / "node_modules",
        description="The pages' libraries from npm (`npm ci` in web/, by scripts/setup_web.sh), served under /vendor.",
    )
    contact_retention_months: int = Field(
        12, ge=1, le=120, description="Months a reporter's contact details are kept once the report is closed."
    )

    public_moderation: Literal["after", "before"] = Field(
        "after", description="after: new reports are public at once; before: description and photos wait for a "
        "coordinator to publish them."
    )
    photo_retention_months: int = Field(
        24, ge=1, le=240, description="Months the photos of a closed report are kept; then files and rows go."
    )
    original_retention_days: int = Field(
        90, ge=1, le=3650, description="Days an unblurred original photo (staff only) is kept, if kept at all."
    )

    smtp_host: str = Field("127.0.0.1", description="SMTP server for outgoing mail.")
    smtp_port: int = Field(25, gt=0, lt=65536)
    smtp_user: str = Field("", description="SMTP login; empty: no authentication.")
    smtp_password: str = Field("", description="SMTP password.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_ssl: bool = Field(False, description="Connect to SMTP over TLS (port 465 style).")
    smtp_timeout_s: float = Field(10.0, gt=0, description="SMTP connection and command timeout.")
    mail_from: str = Field("GUSP <gusp@localhost>", description="From address of GUSP's mails.")
    outbox_max_attempts: int = Field(8, ge=1, description="Sending attempts before a message is marked failed.")

    session_idle_minutes: int = Field(60, gt=0, description="A staff session ends after this long unused.")
    session_absolute_hours: int = Field(12, gt=0, description="A staff session ends this long after sign-in.")
    login_max_failures: int = Field(
        5, ge=1, description="Failed sign-ins for one e-mail from one client address before a pause."
    )
    login_max_failures_per_account: int = Field(
        30, ge=1, description="Failed sign-ins for one e-mail from anywhere before a pause (known clients pass)."
    )
    login_max_failures_per_ip: int = Field(50, ge=1, description="Failed sign-ins from one IP before a pause.")
    login_failure_window_minutes: int = Field(15, gt=0, description="Window over which failures are counted.")
    password_reset_minutes: int = Field(60, gt=0, description="How long a password reset link is valid.")
    intake_per_ip_per_hour: int = Field(
        30, ge=1, description="Reports filed without signing in from one client address per hour."
    )
    mail_requests_per_ip_per_hour: int = Field(
        20, ge=1, description="Requests that send mail to a given address (reset links) from one client address per hour."
    )
    mails_per_recipient_per_day: int = Field(
        10, ge=1, description="Mails a stranger can cause to one address (receipts, reset links) per day."
    )
    duplicate_window_days: int = Field(30, gt=0, description="Likely duplicates: open reports this recent.")
    default_delay_days: int = Field(15, gt=0, description="Deadline when neither category nor partner sets one.")
    triage_delay_days: int = Field(
        2, ge=0, le=60, description="A report left `nouveau` (not assigned) this long after intake is overdue; 0: never."
    )
    api_token_days: int = Field(365, ge=1, le=3650, description="Lifetime of a personal API token (at most, by default).")

    metrics_token: str = Field("", description="Bearer token of the Prometheus scraper; empty: /metrics for local clients only.")
    ready_max_outbox_lag_minutes: int = Field(
        30, gt=0, description="/readyz fails when a due message has waited longer than this (no worker sending)."
    )
    log_format: str = Field("text", pattern="^(text|json)$", description="Log lines: text, or json (one object a line).")
    web_workers: int = Field(1, ge=1, le=64, description="Processes of `gusp serve` (uvicorn workers).")
    db_pool_size: int = Field(
        20, ge=1, le=200,
        description="Database connections each web process keeps once opened (opened as concurrent requests need "
                    "them); up to as many again are opened for bursts and closed after. Too few: every request "
                    "beyond them pays a new PostgreSQL connection.",
    )
    intake_lane_connections: int = Field(
        8, ge=0, le=100,
        description="Connections of the intake's fast lane (a stranger's report without photo, taken on the event "
                    "loop: gusp.api.intake_lane); as many such reports are written at once, the next ones wait. "
                    "0: no lane, every report goes through the route.",
    )

    @property
    def map_tiles(self) -> tuple[str, str]:
        """(tile URL template, attribution) the pages use; ("", "") when tiles are off (empty or `none`)."""
        url = self.tile_url.strip()
        if url.lower() in {"", "none"}:
            return "", ""
        attribution = self.tile_attribution.strip() or (IGN_PLAN_ATTRIBUTION if url == IGN_PLAN_TILES else "")
        return url, attribution

    @property
    def max_request_bytes(self) -> int:
        """Largest request body: every photo at its limit, plus 1 MiB of text fields and multipart boundaries."""
        return self.max_photos * self.max_photo_bytes + 1024 * 1024

    @property
    def development(self) -> bool:
        return self.env == "development"

    def public_url_missing(self) -> str | None:
        """Why this installation cannot serve with its public_url (French), or None when it can."""
        if self.public_url.strip() or self.development:
            return None
        return (
            "GUSP_PUBLIC_URL n'est pas défini : les liens des e-mails (suivi d'un signalement, réinitialisation "
            "du mot de passe, console) ne seraient pas cliquables. Indiquez l'adresse publique du site, par "
            "exemple GUSP_PUBLIC_URL=https://gusp.example.fr, ou GUSP_ENV=development pour un essai local."
        )

    @property
    def database_url_safe(self) -> str:
        """The database URL without its password, for messages."""
        from sqlalchemy.engine import make_url  # not at import: `gusp perimeters load` runs without SQLAlchemy

        return make_url(self.database_url).render_as_string(hide_password=True)
