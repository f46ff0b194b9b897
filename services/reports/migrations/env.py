from servicekit.migrate import run_env
from services.reports.models import Base

run_env(Base.metadata)
