# The cloud image: one image, one `eldercare` command per service (see docker-compose.yml).
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY station_protocol station_protocol
COPY hostclock hostclock
COPY eldercare eldercare
COPY edge edge
COPY cloud cloud
COPY simulators simulators
COPY firmware_config firmware_config
COPY dashboards dashboards
RUN pip install --no-cache-dir '.[cloud,edge]' && useradd --system --uid 1000 eldercare
USER eldercare
ENTRYPOINT ["eldercare"]
CMD ["--help"]
