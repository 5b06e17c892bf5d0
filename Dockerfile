# syntax=docker/dockerfile:1
# feedworkers: Celery workers, beat scheduler and Flower, all from one image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FEEDWORKERS_CONFIG_DIR=/app/config \
    FEEDWORKERS_DATA_DIR=/var/lib/feedworkers

# Unprivileged runtime user. The data dir is created and chowned here so that a
# fresh named volume mounted on it inherits this ownership.
RUN groupadd --system feedworkers \
 && useradd --system --gid feedworkers --home-dir /var/lib/feedworkers --shell /usr/sbin/nologin feedworkers \
 && mkdir -p /var/lib/feedworkers \
 && chown feedworkers:feedworkers /var/lib/feedworkers

WORKDIR /app

# The code stays root-owned (read-only for the runtime user); only the data dir is writable.
COPY . /app
RUN pip install --no-cache-dir ".[postgres]" flower==2.2.0

USER feedworkers

VOLUME ["/var/lib/feedworkers"]

CMD ["feedworkers", "run"]
