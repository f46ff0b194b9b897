# One image for every Townhall process: the six services, the gateway, the sandboxes and the
# one-shot `townhall migrate` / `townhall declare`. The process is chosen by the command:
#   docker run IMAGE townhall run credits
FROM python:3.11-slim

# TOWNHALL_CONFIG: the package is installed into site-packages, where config/ is not, so the
# YAML is copied to /app/config. TOWNHALL_DATA_DIR: only used by the SQLite fallback; compose
# and Kubernetes set TOWNHALL_DATABASE_URL. TOWNHALL_ENVIRONMENT: every container would be an
# installation of its own in development (its own made-up secrets, so the gateway would refuse
# the tokens directory signs): the image runs in production and takes its secrets from outside.
ENV PYTHONDONTWRITEBYTECODE=1 \
    TOWNHALL_ENVIRONMENT=production \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TOWNHALL_CONFIG=/app/config/townhall.yaml \
    TOWNHALL_DATA_DIR=/app/var/data

WORKDIR /app

# The full, tested dependency set first (its own layer, rebuilt only when the lock changes).
# setuptools is pinned in pyproject.toml (nameko imports pkg_resources) but missing from the
# lock, so it is named here with the same pin.
COPY requirements.lock /tmp/requirements.lock
RUN pip install pip==24.3.1 \
 && pip install -r /tmp/requirements.lock setuptools==75.8.0 \
 && rm /tmp/requirements.lock

# Then the project itself, without resolving anything again.
COPY pyproject.toml /tmp/src/
COPY contracts /tmp/src/contracts
COPY servicekit /tmp/src/servicekit
COPY services /tmp/src/services
COPY gateway /tmp/src/gateway
COPY sandbox /tmp/src/sandbox
COPY bench /tmp/src/bench
RUN pip install --no-deps --no-build-isolation /tmp/src \
 && rm -rf /tmp/src

COPY config /app/config

RUN groupadd --system --gid 10001 townhall \
 && useradd --system --uid 10001 --gid townhall --home-dir /app --shell /usr/sbin/nologin townhall \
 && mkdir -p /app/var/data \
 && chown -R townhall:townhall /app/var
# numeric, so Kubernetes' runAsNonRoot can verify it
USER 10001:10001

EXPOSE 8000
# services stop gracefully on SIGTERM, finishing in-flight work within 25 s
STOPSIGNAL SIGTERM
CMD ["townhall", "run", "gateway"]
