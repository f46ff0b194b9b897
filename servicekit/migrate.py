"""Alembic migrations, one history per service under services/<name>/migrations/."""

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import engine_from_config, pool

from servicekit.config import ROOT, database_url
from servicekit.db import UtcDateTime, create_db_engine


def migrations_dir(service):
    return ROOT / "services" / service / "migrations"


def has_migrations(service):
    return (migrations_dir(service) / "env.py").exists()


def alembic_config(service, url):
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(service)))
    cfg.attributes["url"] = url
    return cfg


def upgrade(service, config):
    """Bring one service's database to the newest revision; answer its URL."""
    url = database_url(config, service)
    if url.startswith("sqlite"):
        create_db_engine(url).dispose()  # makes the data folder
    command.upgrade(alembic_config(service, url), "head")
    return url


def make_revision(service, config, message):
    url = database_url(config, service)
    create_db_engine(url).dispose()
    command.upgrade(alembic_config(service, url), "head")
    command.revision(alembic_config(service, url), message=message, autogenerate=True)


def run_env(metadata):
    """Body of every service's migrations/env.py."""
    url = context.config.attributes.get("url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=url.startswith("sqlite"), render_item=_render_item)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def _render_item(kind, obj, autogen_context):
    """Migrations name plain SQLAlchemy types, never our Python-side wrappers."""
    if kind == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def write_scaffold(service):
    """Create the migrations folder of a new service (used once per service)."""
    folder = migrations_dir(service)
    (folder / "versions").mkdir(parents=True, exist_ok=True)
    (folder / "env.py").write_text(
        "from servicekit.migrate import run_env\n"
        f"from services.{service}.models import Base\n\n"
        "run_env(Base.metadata)\n")
    template = Path(command.__file__).parent / "templates" / "generic" / "script.py.mako"
    (folder / "script.py.mako").write_text(template.read_text())
