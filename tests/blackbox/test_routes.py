"""Both nginx sites route the same paths to the same programs.

Every location is written once, in nginx-conf/locations.conf.in (public
server), publisher-locations.conf and ops-locations.conf; the upstreams are
generated from fcgi-apps/ (scripts/nginx-render.sh). This test renders both
sites the way they are deployed — the local one with `stack.sh render`,
production with `nginx-render.sh production` (what `make install` runs) —
and compares, location by location, what each does: the program it passes
to (by socket name), the status it returns, the Nchan role and channel,
auth_request, body limits, rate-limit zones and timeouts. It also checks
that the site files themselves hold no location (so nothing can drift back
into two copies), that a new program needs one C file and one location
line, and, on the running stack, that sample paths reach the program the
production configuration names for them (the access log's `upstream`).
"""
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "nginx-conf" / "oshxona.conf.in"
PRODUCTION = ROOT / "nginx-conf" / "production.conf"

# Locations only the local site has, and why.
LOCAL_ONLY = {
    ("", "/_bench/"),  # make bench's static twin of a menu answer
}

# Directives whose values must agree between the sites (a location's
# behaviour); others (paths, TLS, logs) differ by design.
COMPARED = {
    "fastcgi_pass", "return", "auth_request", "internal", "nchan_subscriber",
    "nchan_publisher", "nchan_channel_id", "nchan_subscriber_first_message",
    "nchan_subscriber_last_message_id", "more_clear_input_headers", "client_max_body_size",
    "fastcgi_read_timeout", "fastcgi_pass_request_body", "try_files", "expires",
    "fastcgi_buffer_size", "fastcgi_buffers", "nchan_stub_status", "stub_status",
    "fastcgi_param", "nchan_message_buffer_length", "nchan_message_timeout",
}

# The servers of each site, matched by how they listen: (what, local, production).
SERVERS = [
    ("public", r"127\.0\.0\.1:(\d+|@PORT@)", r"443 ssl"),
    ("Nchan publisher", r"nchan-publish\.sock", r"nchan-publish\.sock"),
    ("operations (metrics)", r"ops\.sock", r"127\.0\.0\.1:9145"),
]


# ------------------------------------------------------------ rendering


def render_local(root, out):
    """The local site as `make run` writes it: (nginx.conf, its conf dir)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NCHAN_", "RATE_LIMIT"))}
    env.update(STACK_DIR=str(out), PORT="18080")
    subprocess.run(["bash", str(root / "scripts" / "stack.sh"), "render"], env=env,
                   check=True, capture_output=True, timeout=60)
    return out / "run" / "nginx.conf", out / "run"


def render_production(root, out):
    """The production site as `make install` writes it under /etc/nginx."""
    subprocess.run(["bash", str(root / "scripts" / "nginx-render.sh"), "production", str(out)],
                   check=True, capture_output=True, timeout=60)
    return out / "sites-available" / "oshxona", out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    d = tmp_path_factory.mktemp("routes")
    return render_local(ROOT, d / "local"), render_production(ROOT, d / "production")


# -------------------------------------------------------------- parsing


def tokens(text):
    """nginx's lexer, enough for our files: words, quoted strings, ; { }."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{};":
            yield c
            i += 1
        elif c in "'\"":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            yield text[i + 1:j]
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "{};":
                j += 1
            yield text[i:j]
            i = j


def parse(text, conf_dir=None):
    """[(name, [args], children or None)]. With conf_dir, `include` of a
    relative path is replaced by that file's directives, as nginx does
    (Debian's own files, /etc/nginx/fastcgi_params..., are left as is)."""
    stack = [[]]
    words = []
    for t in tokens(text):
        if t == ";":
            if conf_dir is not None and words[0] == "include" and not words[1].startswith("/"):
                f = Path(conf_dir) / words[1]
                assert f.exists(), f"include {words[1]}: no {f}"
                stack[-1].extend(parse(f.read_text(), conf_dir))
            else:
                stack[-1].append((words[0], words[1:], None))
            words = []
        elif t == "{":
            block = (words[0], words[1:], [])
            stack[-1].append(block)
            stack.append(block[2])
            words = []
        elif t == "}":
            stack.pop()
        else:
            words.append(t)
    assert len(stack) == 1 and not words, "unbalanced configuration"
    return stack[0]


def load(site):
    conf, conf_dir = site
    return parse(Path(conf).read_text(), conf_dir)


def find(tree, name):
    for d in tree:
        if d[0] == name:
            yield d
        if d[2] is not None and d[0] in ("http",):
            yield from find(d[2], name)


def upstream_sockets(tree):
    """upstream name -> socket file names (menu.sock), wherever it lives."""
    out = {}
    for _, args, body in find(tree, "upstream"):
        servers = [a[0] for n, a, _ in body if n == "server"]
        out[args[0]] = [Path(s.replace("unix:", "")).name for s in servers]
    return out


def server(tree, listen_re):
    servers = [body for _, _, body in find(tree, "server")
               if any(n == "listen" and re.search(listen_re, " ".join(a)) for n, a, _ in body)]
    assert len(servers) == 1, f"{len(servers)} servers listen like {listen_re}"
    return servers[0]


def loc_key(args):
    return (args[0], args[1]) if len(args) == 2 else ("", args[0])


def routes(tree, listen_re):
    """{(modifier, pattern): {directive: value}} of one server's locations,
    nested ones included, upstreams replaced by socket names."""
    ups = upstream_sockets(tree)
    out = {}

    def walk(body):
        for name, args, children in body:
            if name != "location":
                continue
            what = {}
            for n, a, _ in children:
                if n in COMPARED:
                    v = " ".join(a)
                    if n == "fastcgi_pass":
                        v = ",".join(ups.get(v, [f"no upstream {v}"]))
                    what.setdefault(n, []).append(v)
                if n == "limit_req":
                    what.setdefault("limit_req", []).append(a[0])
            out[loc_key(args)] = what
            walk(children)
    walk(server(tree, listen_re))
    return out


def differences(local, production):
    out = []
    for key in sorted(set(local) | set(production)):
        if key in LOCAL_ONLY:
            continue
        if key not in production:
            out.append(f"only in the local site: location {' '.join(key).strip()}")
        elif key not in local:
            out.append(f"only in production: location {' '.join(key).strip()}")
        elif local[key] != production[key]:
            out.append(f"location {' '.join(key).strip()}: local {local[key]} "
                       f"!= production {production[key]}")
    return out


def compare(local_tree, production_tree, what="public"):
    _, local_listen, production_listen = next(s for s in SERVERS if s[0] == what)
    return differences(routes(local_tree, local_listen),
                       routes(production_tree, production_listen))


# ------------------------------------------------------- configuration


@pytest.mark.parametrize("what,local_listen,production_listen", SERVERS,
                         ids=[s[0] for s in SERVERS])
def test_both_sites_route_the_same_paths_to_the_same_programs(rendered, what, local_listen,
                                                              production_listen):
    local, production = (load(s) for s in rendered)
    assert len(routes(local, local_listen)) >= (10 if what == "public" else 2)
    assert compare(local, production, what) == []


def test_every_location_is_written_once():
    """The site files hold no location of their own (but the local-only
    ones): each server includes its shared snippet instead."""
    for site, listens in ((LOCAL, [s[1] for s in SERVERS]),
                          (PRODUCTION, [s[2] for s in SERVERS])):
        tree = parse(site.read_text())
        for listen, snippet in zip(listens, ("locations.conf", "publisher-locations.conf",
                                             "ops-locations.conf")):
            body = server(tree, listen)
            own = {loc_key(a) for n, a, _ in body if n == "location"} - LOCAL_ONLY
            assert own == set(), f"{site.name}: locations outside the snippets: {own}"
            assert ("include", [f"oshxona/{snippet}"], None) in body, (site.name, snippet)


def test_every_program_has_its_upstream_and_every_pass_an_upstream(rendered):
    programs = {p.parent.name for p in (ROOT / "fcgi-apps").glob("*/main.c")}
    assert len(programs) >= 10
    for site in rendered:
        tree = load(site)
        ups = upstream_sockets(tree)
        assert ups == {f"oshxona_{p}": [f"{p}.sock"] for p in programs}
        passes = {a[0] for n, a, _ in walk_all(tree) if n == "fastcgi_pass"}
        assert passes and passes <= set(ups), passes - set(ups)


def walk_all(tree):
    for d in tree:
        yield d
        if d[2] is not None:
            yield from walk_all(d[2])


def test_no_placeholder_is_left(rendered):
    for conf, conf_dir in rendered:
        for f in [Path(conf), *Path(conf_dir, "oshxona").glob("*.conf")]:
            assert not re.search(r"@[A-Z_]+@", f.read_text()), f


def mutate(path, old, new):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("file,old,new", [
    # a location that exists in one site only
    ("sites-available/oshxona", "include oshxona/locations.conf;",
     "include oshxona/locations.conf;\nlocation = /api/extra { fastcgi_pass oshxona_auth; }"),
    # the public locations not included at all
    ("sites-available/oshxona", "include oshxona/locations.conf;", ""),
    # the same path sent to another program (an upstream pointing elsewhere)
    ("oshxona/upstreams.conf", "unix:/run/oshxona/auth.sock", "unix:/run/oshxona/orders.sock"),
    # a different body limit for uploads
    ("oshxona/locations.conf", "client_max_body_size 6m;", "client_max_body_size 60m;"),
    # a subscriber without its authorization
    ("oshxona/locations.conf", "auth_request /__oshxona_chanauth;", ""),
    # the authorizer told another URI
    ("oshxona/locations.conf", "fastcgi_param ORIGINAL_URI $request_uri;",
     "fastcgi_param ORIGINAL_URI $uri;"),
])
def test_the_comparison_sees_drift(rendered, tmp_path, file, old, new):
    local, production = rendered
    copy = tmp_path / "production"
    shutil.copytree(production[1], copy)
    mutate(copy / file, old, new)
    changed = load((copy / "sites-available" / "oshxona", copy))
    assert compare(load(local), changed) != []


def test_a_location_written_into_a_site_file_is_refused(tmp_path):
    """Mutation of the source: a location put back into the site file
    instead of the snippet."""
    text = LOCAL.read_text().replace(
        "include oshxona/locations.conf;",
        "include oshxona/locations.conf;\n\t\tlocation = /api/extra { return 404; }")
    tree = parse(text)
    own = {loc_key(a) for n, a, _ in server(tree, SERVERS[0][1]) if n == "location"}
    assert own - LOCAL_ONLY == {("=", "/api/extra")}


def repo_copy(tmp_path):
    """What the two renderings read, in a scratch repository."""
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    shutil.copytree(ROOT / "nginx-conf", copy / "nginx-conf")
    for s in ("stack.sh", "nginx-render.sh", "check-production-conf.sh"):
        shutil.copy(ROOT / "scripts" / s, copy / "scripts" / s)
    for main in ROOT.glob("fcgi-apps/*/main.c"):
        (copy / "fcgi-apps" / main.parent.name).mkdir(parents=True)
        (copy / "fcgi-apps" / main.parent.name / "main.c").write_text("")
    return copy


def test_a_new_program_needs_one_c_file_and_one_line(tmp_path):
    copy = repo_copy(tmp_path)
    (copy / "fcgi-apps" / "loyalty").mkdir()
    (copy / "fcgi-apps" / "loyalty" / "main.c").write_text("int main(void) { return 0; }\n")
    mutate(copy / "nginx-conf" / "locations.conf.in", "location = /healthz {",
           "location ^~ /api/loyalty/ { include /etc/nginx/fastcgi_params; "
           "fastcgi_pass oshxona_loyalty; }\nlocation = /healthz {")
    local = load(render_local(copy, tmp_path / "local"))
    production = load(render_production(copy, tmp_path / "production"))
    for tree, listen in ((local, SERVERS[0][1]), (production, SERVERS[0][2])):
        assert routes(tree, listen)[("^~", "/api/loyalty/")]["fastcgi_pass"] == ["loyalty.sock"]
    assert compare(local, production) == []
    # And production still passes nginx -t with it.
    r = subprocess.run(["bash", str(copy / "scripts" / "check-production-conf.sh")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------- requests


def match(body, uri):
    """The location nginx picks for uri among body's (exact, then the
    longest prefix, ^~ ending the search, its nested locations, then the
    regexes in order): (modifier, pattern, children) or None."""
    locs = [(loc_key(a), c) for n, a, c in body if n == "location"]
    for (mod, pat), c in locs:
        if mod == "=" and pat == uri:
            return (mod, pat, c)
    prefixes = [((mod, pat), c) for (mod, pat), c in locs
                if mod in ("", "^~") and uri.startswith(pat)]
    best = max(prefixes, key=lambda x: len(x[0][1]), default=None)
    if best is not None:
        inner = match(best[1], uri)
        if inner is not None:
            return inner
        if best[0][0] == "^~":
            return (*best[0], best[1])
    for (mod, pat), c in locs:
        # PCRE's (?<name>...) is Python's (?P<name>...).
        py = re.sub(r"\(\?<([A-Za-z_])", r"(?P<\1", pat)
        if mod in ("~", "~*") and re.search(py, uri, re.I if mod == "~*" else 0):
            return (mod, pat, c)
    return (*best[0], best[1]) if best is not None else None


def program_for(tree, listen_re, uri, with_query):
    """The program the site sends uri to, or "nginx" for its own answers."""
    body = server(tree, listen_re)
    ups = upstream_sockets(tree)
    loc = match(body, uri)
    assert loc is not None, uri
    passes = [a[0] for n, a, _ in loc[2] if n == "fastcgi_pass"]
    tries = [a for n, a, _ in loc[2] if n == "try_files"]
    if not passes and tries and tries[0][-1].startswith("@") and with_query:
        named = next(c for n, a, c in body if n == "location" and a == [tries[0][-1]])
        passes = [a[0] for n, a, _ in named if n == "fastcgi_pass"]
    if not passes:
        return "nginx"
    return Path(ups[passes[0]][0]).stem


HEX24 = "0123456789abcdef01234567"
# (method, path, the program that must answer it; "nginx": no program).
SAMPLES = [
    ("GET", "/healthz", "health"),
    ("GET", "/readyz", "health"),
    ("GET", "/api/categories?lang=uz", "menu"),
    ("GET", "/api/products?search=osh", "menu"),
    ("GET", "/api/auth/me", "auth"),
    ("GET", "/api/orders", "orders"),
    ("GET", f"/api/orders/{HEX24}", "orders"),
    ("GET", "/api/admin/orders", "orders"),
    ("GET", f"/api/orders/{HEX24}/pay", "payments"),
    ("GET", "/api/admin/products", "admin"),
    ("GET", "/api/admin/branches", "admin"),
    ("GET", "/api/admin/analytics/summary", "analytics"),
    ("POST", "/api/admin/uploads", "uploads"),
    ("POST", "/telegram/webhook", "telegram"),
    ("POST", "/payments/payme", "payments"),
    ("POST", "/payments/click/prepare", "payments"),
    ("GET", "/media/0123456789abcdef0123456789abcdef.jpg", "nginx"),
    ("GET", "/media/other.txt", "nginx"),
    ("GET", "/metrics", "nginx"),
    ("GET", "/shop", "nginx"),
    ("GET", "/no/such/path", "nginx"),
]


def test_the_samples_are_what_both_configurations_say(rendered):
    local, production = (load(s) for s in rendered)
    for method, path, program in SAMPLES:
        uri, _, query = path.partition("?")
        for tree, listen in ((local, SERVERS[0][1]), (production, SERVERS[0][2])):
            assert program_for(tree, listen, uri, bool(query)) == program, (path, listen)


def test_requests_reach_the_program_production_names(stack, api):
    """On the running local stack: each sample reaches the program the
    production site routes it to, seen in the access log's `upstream`."""
    tag = secrets.token_hex(4)
    sent = {}
    for i, (method, path, program) in enumerate(SAMPLES):
        rid = f"routes-{tag}-{i}"
        body = b"{}" if method == "POST" else None
        headers = {"X-Request-Id": rid}
        if body is not None:
            headers["Content-Type"] = "application/json"
        r = api.request(method, path, headers=headers, body=body)
        # The program's own answer (Click unconfigured is its 503), not
        # nginx's word that it could not reach one.
        assert r.status not in (502, 504), (path, r.status)
        sent[rid] = (path, program)
    log = Path(stack.dir) / "logs" / "access.log"
    seen = {}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(seen) < len(sent):
        for line in log.read_text().splitlines():
            if f'"routes-{tag}-' in line:
                e = json.loads(line)
                seen[e["request_id"]] = e["upstream"]
        time.sleep(0.1)
    for rid, (path, program) in sent.items():
        assert rid in seen, f"{path}: no access log line"
        up = seen[rid]
        got = Path(up.replace("unix:", "")).stem if up not in ("", "-") else "nginx"
        assert got == program, f"{path}: {up!r}, expected {program}"
