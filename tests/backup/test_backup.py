"""Backups that restore: a populated instance dumped, restored into a fresh database and photo
store, then every table's row count and every photo's checksum compared. Local disk and SeaweedFS."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gusp import db, diagnostics, errors, storage, triage
from gusp.backup import dump, manifest, postgres, restore
from gusp.config import Settings
from gusp.schemas_diagnostics import DiagnosticCreate, FindingCreate
from gusp.storage import sweep
from tests import builders, builders_routing

ROOT = Path(__file__).resolve().parent.parent.parent


def with_store(settings: Settings, kind: str, s3_server, media_dir: Path) -> Settings:
    if kind == "s3":
        return s3_server.settings(settings)
    return settings.model_copy(update={"media_url": "", "media_dir": media_dir})


@pytest.fixture(params=["local", "s3"])
def populated(request, committed_settings, tmp_path) -> Settings:
    """An instance with accounts, reports with photos, a resolution with its after photo, a walk, mails."""
    s3 = request.getfixturevalue("s3_server") if request.param == "s3" else None
    settings = with_store(committed_settings, request.param, s3, tmp_path / "source-media")
    engine = db.make_engine(settings.database_url)
    try:
        with db.make_sessionmaker(engine)() as session, db.transaction(session):
            partner = builders_routing.make_partner(session, "Pays d'Aix Habitat")
            agent, _ = builders.staff(session, "agent")
            reports = [builders.make_report(session, settings, photos=[builders.jpeg(700 + 50 * i, 500, (i * 60, 80, 80))],
                                            contact_email=f"voisin{i}@example.org", contact_consent="true")
                       for i in range(3)]
            session.execute(text("UPDATE reports SET status = 'en_cours', partner_id = :p WHERE id = :r"),
                            {"p": partner.id, "r": reports[0].id})
            session.expire(reports[0])
            triage.resolve(session=session, settings=settings, storage=storage.from_settings(settings),
                           report=reports[0], actor=None, note="Sacs enlevés.",
                           after_photo=io.BytesIO(builders.jpeg(640, 480, (20, 140, 20))))
            coordinator, _ = builders.staff(session, "coordinateur")
            walk = diagnostics.create_diagnostic(session=session, author=coordinator, data=DiagnosticCreate(
                quartier=builders.ENCAGNANE, date=date(2026, 11, 25), title="Encagnane sud"))
            lat, lon = builders.point_in(session, builders.ENCAGNANE)
            diagnostics.add_finding(session=session, settings=settings, storage=storage.from_settings(settings),
                                    diagnostic=walk, author=agent, uploads=[io.BytesIO(builders.jpeg(800, 600, (90, 90, 200)))],
                                    data=FindingCreate(kind="point_positif", description="Fresque", lat=lat, lon=lon))
        storage.from_settings(settings).put("ee" * 32 + ".jpg", b"an orphan: no row names it, not backed up")
    finally:
        engine.dispose()
    return settings


@pytest.fixture
def fresh_target(populated, tmp_path, request) -> Iterator[Settings]:
    """An empty place to restore into, with the same kind of store: a database not made yet, an empty store."""
    url = make_url(populated.database_url).set(database=f"gusp_restore_{uuid.uuid4().hex[:10]}")
    target = populated.model_copy(update={"database_url": url.render_as_string(hide_password=False)})
    if target.media_url:
        target = request.getfixturevalue("s3_server").settings(target)
    else:
        target = target.model_copy(update={"media_dir": tmp_path / "restored-media"})
    yield target
    db.drop_database(target.database_url)


def counts(settings: Settings) -> dict[str, int]:
    engine = db.make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return postgres.table_counts(connection)
    finally:
        engine.dispose()


def photo_checksums(settings: Settings) -> dict[str, str]:
    """Every photo a row names, with the SHA-256 of the bytes the store gives for it."""
    engine = db.make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            keys = sweep.all_referenced(connection)
    finally:
        engine.dispose()
    store = storage.from_settings(settings)
    return {key: hashlib.sha256(store.open(key).read()).hexdigest() for key in keys}


def test_a_backup_restores_every_row_and_every_photo(populated, fresh_target, tmp_path):
    directory = tmp_path / "sauvegarde"

    made = dump.backup(settings=populated, directory=directory)

    source_photos = photo_checksums(populated)
    assert len(source_photos) == 2 * 5  # 3 reports, 1 after photo, 1 positive point: display and thumbnail
    assert {f.key for f in made.media} == set(source_photos) and made.missing == []
    assert made.tables == counts(populated) and made.tables["report_events"] > 3
    assert not manifest.media_path(directory, "ee" * 32 + ".jpg").exists()  # orphans are not backed up

    done = restore.restore(settings=fresh_target, directory=directory)

    assert counts(fresh_target) == counts(populated)
    assert photo_checksums(fresh_target) == source_photos
    assert done.rows == sum(made.tables.values()) and done.files_written == 10
    assert rows(fresh_target, "SELECT reference, status, description FROM reports ORDER BY id") == \
        rows(populated, "SELECT reference, status, description FROM reports ORDER BY id")
    assert rows(fresh_target, "SELECT email, password_hash FROM users ORDER BY id") == \
        rows(populated, "SELECT email, password_hash FROM users ORDER BY id")


def test_a_non_empty_target_is_refused_without_force(populated, fresh_target, tmp_path):
    directory = tmp_path / "sauvegarde"
    dump.backup(settings=populated, directory=directory)
    restore.restore(settings=fresh_target, directory=directory)
    engine = db.make_engine(fresh_target.database_url)
    with db.make_sessionmaker(engine)() as session, db.transaction(session):
        session.execute(text("DELETE FROM reporter_contacts WHERE report_id = (SELECT max(report_id) FROM reporter_contacts)"))
    engine.dispose()

    with pytest.raises(errors.Conflict) as refused:
        restore.restore(settings=fresh_target, directory=directory)
    assert refused.value.code == "restauration_refusee"
    assert "contient déjà des tables" in refused.value.message and "--force" in refused.value.message
    assert counts(fresh_target)["reporter_contacts"] == counts(populated)["reporter_contacts"] - 1  # untouched

    storage.from_settings(fresh_target).put("ff" * 32 + ".jpg", b"not in the backup")
    restore.restore(settings=fresh_target, directory=directory, force=True)
    assert counts(fresh_target) == counts(populated)
    assert {o.key for o in storage.from_settings(fresh_target).list()} == set(photo_checksums(populated))


def test_a_damaged_backup_restores_nothing(populated, fresh_target, tmp_path):
    directory = tmp_path / "sauvegarde"
    made = dump.backup(settings=populated, directory=directory)
    damaged = manifest.media_path(directory, made.media[0].key)
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\0")

    with pytest.raises(errors.Unprocessable) as refused:
        restore.restore(settings=fresh_target, directory=directory)

    assert refused.value.code == "sauvegarde_alteree" and made.media[0].key in refused.value.message
    assert not db.database_exists(fresh_target.database_url)
    assert list(storage.from_settings(fresh_target).list()) == []


def test_a_backup_goes_into_a_new_directory(settings, tmp_path):
    (tmp_path / "ancienne").mkdir()
    (tmp_path / "ancienne" / "manifest.json").write_text("{}")

    with pytest.raises(errors.Conflict) as refused:
        dump.backup(settings=settings, directory=tmp_path / "ancienne")
    assert refused.value.code == "sauvegarde_existante"


def rows(settings: Settings, query: str) -> list[tuple]:
    engine = db.make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(text(query))]
    finally:
        engine.dispose()


@pytest.mark.parametrize("populated", ["local"], indirect=True)
def test_the_commands_back_up_and_restore(populated, fresh_target, tmp_path):
    directory = tmp_path / "sauvegarde"

    made = gusp(populated, "backup", str(directory))
    restored = gusp(fresh_target, "restore", str(directory))
    again = gusp(fresh_target, "restore", str(directory))

    assert made.returncode == 0, made.stderr
    assert "10 photos" in made.stdout
    assert restored.returncode == 0, restored.stderr
    assert "identiques à la sauvegarde" in restored.stdout
    assert again.returncode == 2 and "restauration_refusee" in again.stderr
    assert photo_checksums(fresh_target) == photo_checksums(populated)


def gusp(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GUSP_DATABASE_URL": settings.database_url, "GUSP_MEDIA_DIR": str(settings.media_dir),
           "GUSP_MEDIA_URL": settings.media_url}
    return subprocess.run([sys.executable, "-m", "gusp.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
