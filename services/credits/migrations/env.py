from servicekit.migrate import run_env
from services.credits.models import Base

run_env(Base.metadata)
