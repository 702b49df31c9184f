# dockernet as a container image: docker build -t dockernet .
# How to run it (the socket, the key, --network host): README.md, "As a container image".
#
# The build stage makes a venv from Debian's Python; the gather step copies into /rootfs only what
# that venv needs at run time (the interpreter, the shared libraries it and its extension modules
# link, the standard library, the venv) and the final image is that tree alone: no shell, no
# package manager, no compiler.
FROM debian:bookworm-slim AS build
# a base that already has Python and venv (the tests' offline base, built by scripts/image-base) skips apt
RUN if ! python3 -c "import ensurepip, venv" 2>/dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends python3 python3-venv \
        && rm -rf /var/lib/apt/lists/*; \
    fi
COPY . /src
# a wheelhouse/ in the build context replaces the package index (an offline build); else the index
RUN set -e; \
    if [ -d /src/wheelhouse ]; then set -- --no-index --find-links /src/wheelhouse; fi; \
    python3 -m venv /opt/dockernet; \
    /opt/dockernet/bin/pip install --no-cache-dir --disable-pip-version-check -q "$@" /src; \
    /opt/dockernet/bin/pip uninstall -y -q pip setuptools; \
    sh /src/scripts/image-rootfs /rootfs

FROM scratch
COPY --from=build /rootfs /
ENV PATH=/opt/dockernet/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DOCKERNET_STATE_DIR=/var/lib/dockernet \
    DOCKERNET_IN_IMAGE=1
# uid and gid 10001, "dockernet" in the image's /etc/passwd; the engine's socket is reached with
# --group-add (the socket's group on the host), the key file must be readable by 10001
USER 10001:10001
WORKDIR /var/lib/dockernet
VOLUME ["/var/lib/dockernet"]
EXPOSE 9153
ENTRYPOINT ["/opt/dockernet/bin/dockernet"]
CMD ["watch", "-"]
