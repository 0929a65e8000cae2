"""Opening the store: engines, sessions and migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DataError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from transcode.errors import InputError, StoreError, StoreWriteError
from transcode.files import create_private_file

MIGRATIONS = Path(__file__).parent / "migrations"


#: Query parameters that carry a secret (libpq and psycopg accept a password there too).
_SECRET_QUERY_KEYS = ("password", "sslpassword", "passphrase", "secret", "token")


def public_url(url: str | URL) -> str:
    """The store's URL with every secret masked: what is shown, logged or recorded (model cards).

    The password becomes ``***`` (SQLAlchemy's ``hide_password``), and so does any password-like
    query parameter; a string that is not a URL at all shows only its scheme.
    """
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception:
        scheme = str(url).split("://", 1)[0] if "://" in str(url) else ""
        return f"{scheme}://***" if scheme and scheme.isascii() and scheme.isprintable() else "***"
    masked = {
        key: ("***" if any(word in key.lower() for word in _SECRET_QUERY_KEYS) else value)
        for key, value in parsed.query.items()
    }
    return unquote(parsed.set(query=masked).render_as_string(hide_password=True))


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception:
        raise InputError(
            f"not a database URL: {public_url(url)} (expected sqlite:///FILE or postgresql+psycopg://...)"
        ) from None
    try:
        if parsed.get_backend_name() == "sqlite":
            database = sqlite_file(parsed)
            if database is not None and not database.parent.exists():
                raise InputError(f"folder for the database does not exist: {database.parent}")
            if database is not None and database.is_dir():
                raise InputError(f"the database is a folder, not a file: {database}")
            engine = create_engine(parsed, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as err:
        reason = "unknown database scheme" if isinstance(err, NoSuchModuleError) else "unusable database URL"
        raise InputError(
            f"{reason} {parsed.drivername!r} in {public_url(parsed)} "
            "(expected sqlite:///FILE or postgresql+psycopg://...)"
        ) from None
    event.listen(engine, "handle_error", _unwritable_store)
    return engine


#: What SQLite (message) and PostgreSQL (SQLSTATE) say when a store cannot be written.
_SQLITE_UNWRITABLE = {
    "database or disk is full": "database or disk is full",
    "attempt to write a readonly database": "the database is read-only",
    "disk i/o error": "disk I/O error (the disk is full or the file cannot grow)",
}
_POSTGRES_UNWRITABLE = {
    "53100": "database or disk is full",
    "25006": "the database is read-only",
    "42501": "no permission to write",
}


def _unwritable_store(context) -> None:
    """Turn "disk full" / "read-only" from either backend into one clear line (exit 2 in the CLI),
    and so a value the database cannot hold (too long a name on PostgreSQL, too large a number)."""
    original = context.original_exception
    if isinstance(context.sqlalchemy_exception, DataError) or isinstance(original, OverflowError):
        lines = str(original).strip().splitlines()
        raise StoreError(
            f"the store cannot hold a value given: {lines[0] if lines else 'data error'}"
        ) from None
    reason = _POSTGRES_UNWRITABLE.get(getattr(original, "sqlstate", None) or "")
    if reason is None:
        text = str(original).lower()
        reason = next((r for needle, r in _SQLITE_UNWRITABLE.items() if needle in text), None)
    if reason is not None:
        url = public_url(context.engine.url) if context.engine else "?"
        raise StoreWriteError(f"cannot write to the store {url}: {reason}") from original


def sqlite_file(url) -> Path | None:
    """The file behind a SQLite URL (also ``sqlite:///file:PATH?mode=ro&uri=true``); None in memory."""
    database = url.database
    if not database or database == ":memory:":
        return None
    if database.startswith("file:") and url.query.get("uri") in ("true", "1"):
        return Path(database.removeprefix("file:"))
    return Path(database)


def create_sqlite_file(database: Path) -> None:
    """Create a new SQLite store file private to its owner (0600 unless the umask is stricter).

    SQLite gives the store's ``-wal`` and ``-shm`` files the mode of the store file, so they are
    private too. An existing file keeps its mode.
    """
    create_private_file(database)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the store's schema is at (None before the first migration); reads only."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest schema revision this version of transcode knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def is_initialised(engine: Engine) -> bool:
    return inspect(engine).has_table("project")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
