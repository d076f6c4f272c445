#!/usr/bin/python3
"""Checks docker-compose.yml's structure where no Docker engine can run
`docker compose config`: a MongoDB replica set and the app, each with a
healthcheck, the app waiting for healthy members, named volumes declared,
ports published on loopback only. Debian's python3-yaml; exit 1 and the
reasons on stderr when something is wrong.

    scripts/check-compose.py [docker-compose.yml]
"""
import re
import sys

import yaml


def check(doc):
    errs = []
    services = doc.get("services") or {}
    mongos = sorted(n for n, s in services.items() if str(s.get("image", "")).startswith("mongo:"))
    if len(mongos) < 3:
        errs.append(f"a replica set needs 3 mongo services, found {mongos}")
    for n in mongos:
        cmd = services[n].get("command") or []
        if "--replSet" not in cmd:
            errs.append(f"{n}: not started with --replSet")
    app = services.get("app")
    if app is None:
        return errs + ["no app service"]
    if "build" not in app:
        errs.append("app: not built from the Dockerfile")
    declared = set((doc.get("volumes") or {}).keys())
    for name, s in services.items():
        hc = s.get("healthcheck") or {}
        test = hc.get("test")
        if not test or test == ["NONE"]:
            errs.append(f"{name}: no healthcheck")
        for v in s.get("volumes") or []:
            src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
            if src and not src.startswith((".", "/")) and src not in declared:
                errs.append(f"{name}: volume {src} is not declared")
        for p in s.get("ports") or []:
            if not str(p).startswith("127.0.0.1:"):
                errs.append(f"{name}: port {p} is not published on loopback only")
        if str(s.get("image", "")).startswith("mongo:") and not s.get("volumes"):
            errs.append(f"{name}: database without a volume")
    deps = app.get("depends_on") or {}
    for n in mongos:
        if not isinstance(deps, dict) or (deps.get(n) or {}).get("condition") != "service_healthy":
            errs.append(f"app: does not wait for {n} to be healthy")
    uri = str((app.get("environment") or {}).get("MONGODB_URI", ""))
    if "replicaSet=" not in uri:
        errs.append("app: MONGODB_URI names no replicaSet")
    for n in mongos:
        if not re.search(rf"[/,@]{re.escape(n)}:27017", uri):
            errs.append(f"app: MONGODB_URI does not list {n}")
    if not app.get("volumes"):
        errs.append("app: no volumes for media and logs")
    return errs


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "docker-compose.yml"
    with open(path) as f:
        doc = yaml.safe_load(f)
    errs = check(doc)
    for e in errs:
        print(f"{path}: {e}", file=sys.stderr)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
