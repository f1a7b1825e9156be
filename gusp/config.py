"""Settings, read once from the environment (prefix GUSP_) by whoever builds the app."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_DIR / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GUSP_", extra="ignore")

    database_url: str = Field(
        "postgresql+psycopg://postgres@127.0.0.1:5432/gusp",
        description="SQLAlchemy URL of the PostgreSQL/PostGIS database.",
    )
    media_dir: Path = Field(PROJECT_DIR / "var" / "media", description="Where stored photos live.")
    public_url: str = Field("", description="Absolute base URL put before photo links; empty: relative links.")
    max_photo_bytes: int = Field(15 * 1024 * 1024, gt=0, description="Largest accepted photo file, in bytes.")
    max_photos: int = Field(5, ge=0, le=20, description="Most photos on one report.")
    max_image_pixels: int = Field(
        60_000_000, gt=0, description="Largest decoded image (width × height); beyond it: refused as a bomb."
    )
    display_max_px: int = Field(2048, gt=0, description="Long side of the stored display photo.")
    thumbnail_max_px: int = Field(400, gt=0, description="Long side of the stored thumbnail.")
    jpeg_quality: int = Field(85, ge=30, le=95, description="Quality of stored JPEG files.")
    service_area_margin_m: float = Field(
        5000.0, ge=0, description="Margin around the communes' perimeters where reports are accepted."
    )
    categories_file: Path = Field(DATA_DIR / "categories.json", description="Seed file of categories.")
    perimeters_file: Path = Field(DATA_DIR / "qpv_perimetres.geojson", description="Perimeters loaded by set-up.")
    timezone: str = Field("Europe/Paris", description="Time zone of the reference year and of displayed dates.")

    @property
    def database_url_safe(self) -> str:
        """The database URL without its password, for messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)
