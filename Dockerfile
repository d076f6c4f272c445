# One app host: nginx + Nchan, the FastCGI programs and cron. The database
# is a separate service (see docker-compose.yml). The Debian packages come
# from the one list scripts/packages.txt (roles build and run), the same
# list scripts/setup.sh installs on a development machine.
FROM debian:12
COPY scripts/packages.txt scripts/packages.sh /tmp/oshxona-packages/
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        $(sh /tmp/oshxona-packages/packages.sh build run) \
    && rm -rf /var/lib/apt/lists/* /tmp/oshxona-packages
WORKDIR /src
COPY . .
# The binaries, units, crontab and configuration under /opt/oshxona and
# /etc, as on a host (README, "Operator's guide").
RUN make clean && make -s all && make -s install PREFIX=/opt/oshxona
# Both nginx sites rendered from the one locations snippet and checked here,
# so a broken route fails the build, not the container's start: the
# production site (rendered as make install renders it) and the local site stack.sh
# runs in this container.
RUN bash scripts/check-production-conf.sh \
    && STACK_DIR=/tmp/oshxona-check bash scripts/stack.sh render \
    && rm -rf /tmp/oshxona-check
ENV EXTERNAL_DB=1 PORT=8080 STACK_DIR=/var/lib/oshxona/stack LOG_DIR=/var/log/oshxona
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/readyz || exit 1
CMD ["bash", "/src/deploy/docker-entrypoint.sh"]
