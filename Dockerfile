# One app host: nginx + Nchan, the FastCGI programs under spawn-fcgi.
# The database is a separate service (see docker-compose.yml).
FROM debian:12
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        nginx libnginx-mod-nchan libnginx-mod-http-headers-more-filter \
        libfcgi-dev spawn-fcgi libmongoc-dev libbson-dev libjson-c-dev \
        libcurl4-openssl-dev libssl-dev libargon2-dev pkg-config make gcc \
        openssl curl ca-certificates procps python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/oshxona
COPY . .
RUN make clean && make all
ENV EXTERNAL_DB=1 PORT=8080
EXPOSE 8080
# stack.sh daemonizes every part; the container lives as long as the logs
# are followed, and `docker compose stop` ends it.
CMD ["bash", "-c", "sed -i 's/listen 127.0.0.1:@PORT@/listen @PORT@/' nginx-conf/oshxona.conf.in && bash scripts/stack.sh start && exec tail -F var/logs/*.log"]
