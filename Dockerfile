# One image for every role: the command picks it.
#   docker run subbuzz serve | consume | migrate | simulate ...
# Settings are SUBBUZZ_* environment variables (see README, "Settings"); compose.yaml shows
# a whole deployment.

# The web panel (/panel), built from its lock by Node; only the built files reach the image.
FROM node:20-slim AS panel
WORKDIR /panel
COPY panel/package.json panel/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY panel/index.html panel/vite.config.js ./
COPY panel/src ./src
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from pyproject.toml alone: this layer is rebuilt only when they change,
# not on every source edit. The build backend is installed too, so the source install below
# needs nothing from the network.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); \
print('\n'.join(p['build-system']['requires'] + p['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the source: the packages pyproject.toml lists (with their .cql, .graphql and template
# files) and the README its metadata names.
COPY README.md ./
COPY subbuzz ./subbuzz
COPY devstack ./devstack
COPY cql ./cql
COPY consumer ./consumer
COPY schema ./schema
COPY server ./server
COPY simulator ./simulator
RUN pip install --no-deps --no-build-isolation . && rm -rf build *.egg-info

# The built panel, served by `subbuzz serve` at /panel.
COPY --from=panel /panel/dist ./panel

RUN groupadd --system --gid 10001 subbuzz \
    && useradd --system --uid 10001 --gid subbuzz --create-home --shell /usr/sbin/nologin subbuzz

# In a container, listen on every interface (the defaults are loopback, for the local stack).
ENV SUBBUZZ_SERVER_HOST=0.0.0.0 \
    SUBBUZZ_METRICS_HOST=0.0.0.0 \
    SUBBUZZ_PANEL_DIR=/app/panel

# GraphQL server (serve) and consumer Prometheus metrics (consume).
EXPOSE 8000 9108

# No HEALTHCHECK here: what "healthy" means depends on the role (serve answers /healthz,
# consume serves /metrics once Cassandra is reached, migrate and simulate finish and exit).
# compose.yaml gives each long-running service its own check.

USER subbuzz
ENTRYPOINT ["subbuzz"]
CMD ["serve"]
