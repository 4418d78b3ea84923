# chainlens — `docker build -t chainlens .` then `docker run -p 8000:8000 chainlens`.
#
# Three stages:
#   assets   (NODE_IMAGE)   npm ci from the lockfile, npm run build → static/dist
#   builder  (PYTHON_IMAGE) pip install . (with the built assets as package data) into /opt/venv
#   runtime  (PYTHON_IMAGE) the venv only: no node, npm, node_modules, pip caches or build trees
#
# Both base images are build arguments, so the image also builds from local or mirrored bases:
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim -t chainlens .
# The Python stages must share one PYTHON_IMAGE: the venv's interpreter links to the base's.
ARG NODE_IMAGE=node:20-slim
ARG PYTHON_IMAGE=python:3.12-slim
# The image's labels (OCI annotations). VERSION defaults to the project's version, app/__init__.py's
# __version__ (tests/test_release.py keeps the two equal); CI may pass a build's own, e.g.
#   docker build --build-arg VERSION=0.4.0+$(git rev-parse --short HEAD) --build-arg REVISION=$(git rev-parse HEAD) .
ARG VERSION=0.4.0
ARG REVISION=""
ARG SOURCE=https://github.com/chainlens/chainlens

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS assets
WORKDIR /src
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
# Dependencies first, from the lockfile only, so that this layer is reused while sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY static/ static/
RUN npm run build && test -f static/dist/app.js

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY scripts/build_backend.py scripts/
COPY app/ app/
COPY chainlens/ chainlens/
COPY templates/ templates/
COPY --from=assets /src/static/dist/ static/dist/
# A regular (non-editable) install: the package and its data (templates/, static/dist/, carried as
# app/templates and app/static, see pyproject.toml) are copied
# into the venv's site-packages, so /src is not needed afterwards. The check fails the build early
# when the package data did not make it in. pip (and the setuptools that Python 3.11's venv adds)
# are dropped from the venv: the runtime never installs anything.
# The check runs outside /src, so that it imports the installed package, not the sources beside it.
RUN /opt/venv/bin/pip install . \
 && cd / && /opt/venv/bin/python -c "import app.main, app.api.ui as ui; \
assert ui.UI_ROOT == ui.PACKAGE_DIR, 'the page is not packaged'; \
assert (ui.STATIC_DIR / 'dist' / 'app.js').is_file(), 'static/dist/app.js missing from the installed package'; \
assert (ui.TEMPLATES_DIR / 'index.html').is_file(), 'templates/index.html missing from the installed package'" \
 && /opt/venv/bin/python -m pip uninstall -y -q setuptools pip \
 && test -x /opt/venv/bin/chainlens

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION
ARG REVISION
ARG SOURCE
# The licence covers what the image adds: chainlens (MIT) and the bundled digits (CC BY 4.0; their
# attribution is installed beside them, app/datasets/data/DIGITS-LICENSE.txt).
LABEL org.opencontainers.image.title="chainlens" \
      org.opencontainers.image.description="See backpropagation on your own expression: graph, values, gradients and every chain-rule step." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.url="${SOURCE}" \
      org.opencontainers.image.licenses="MIT AND CC-BY-4.0" \
      org.opencontainers.image.authors="the chainlens authors"

# An unprivileged user with a fixed uid (10001) and no home; it owns nothing in the image, so the
# installed code cannot be changed by the server process.
RUN groupadd --gid 10001 chainlens \
 && useradd --uid 10001 --gid 10001 --no-create-home --no-log-init --home-dir /nonexistent \
        --shell /usr/sbin/nologin chainlens

COPY --from=builder /opt/venv /opt/venv

# Settings (all read by app/settings.py at start-up; see the README's Docker section).
# The host must be 0.0.0.0 inside a container, else the published port reaches nothing.
# numpy's OpenBLAS would start one thread per CPU in every worker; the service scales by workers
# and replicas instead (override with -e OPENBLAS_NUM_THREADS=N).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OPENBLAS_NUM_THREADS=1 \
    CHAINLENS_HOST=0.0.0.0 \
    CHAINLENS_PORT=8000 \
    CHAINLENS_WORKERS=1 \
    CHAINLENS_LOG_LEVEL=info

USER 10001:10001
WORKDIR /tmp
EXPOSE 8000

# The slim python image has no curl: ask /healthz with the standard library, on the port the
# server was told to use.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CHAINLENS_PORT', '8000'), timeout=4).read()"]

# The project's entry point (`chainlens` = app.__main__:main), which runs uvicorn.
CMD ["/opt/venv/bin/chainlens"]
