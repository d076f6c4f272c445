"""Both nginx sites route the same paths to the same programs.

The local/test site (nginx-conf/oshxona.conf.in) and the production site
(nginx-conf/production.conf) are written twice today; this test parses
both and compares, location by location, what each public location does:
the program it passes to (by socket name), the status it returns, the
Nchan role and channel, auth_request, body limits, rate-limit zones and
timeouts. A location added to one site only, or pointing elsewhere, fails.
"""
import re
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
# behaviour); others (paths, TLS, logs, placeholders) differ by design.
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
    ("public", r"127\.0\.0\.1:@PORT@", r"443 ssl"),
    ("Nchan publisher", r"nchan-publish\.sock", r"nchan-publish\.sock"),
    ("operations (metrics)", r"ops\.sock", r"127\.0\.0\.1:9145"),
]


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


def parse(text):
    """[(name, [args], children or None)] for the whole file."""
    stack = [[]]
    words = []
    for t in tokens(text):
        if t == ";":
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


def find(tree, name):
    for d in tree:
        if d[0] == name:
            yield d
        if d[2] is not None and d[0] in ("http",):
            yield from find(d[2], name)


def upstream_sockets(tree):
    """upstream name -> socket file name (menu.sock), wherever it lives."""
    out = {}
    for _, args, body in find(tree, "upstream"):
        servers = [a[0] for n, a, _ in body if n == "server"]
        out[args[0]] = [Path(s.replace("unix:", "")).name for s in servers]
    return out


def public_server(tree, listen_re):
    servers = [body for _, _, body in find(tree, "server")
               if any(n == "listen" and re.search(listen_re, " ".join(a)) for n, a, _ in body)]
    assert len(servers) == 1, f"{len(servers)} servers listen like {listen_re}"
    return servers[0]


def routes(text, listen_re):
    """{(modifier, pattern): {directive: value}} of the public server's
    locations, nested ones included, upstreams replaced by socket names."""
    tree = parse(text)
    ups = upstream_sockets(tree)
    out = {}

    def walk(body):
        for name, args, children in body:
            if name != "location":
                continue
            key = (args[0], args[1]) if len(args) == 2 else ("", args[0])
            what = {}
            for n, a, _ in children:
                if n in COMPARED:
                    v = " ".join(a)
                    if n == "fastcgi_pass":
                        v = ",".join(ups.get(v, [v]))
                    what.setdefault(n, []).append(v)
                if n == "limit_req":
                    what.setdefault("limit_req", []).append(a[0])
            out[key] = what
            walk(children)
    walk(public_server(tree, listen_re))
    return out


def local_routes(text=None, listen=SERVERS[0][1]):
    return routes(text if text is not None else LOCAL.read_text(), listen)


def production_routes(text=None, listen=SERVERS[0][2]):
    return routes(text if text is not None else PRODUCTION.read_text(), listen)


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


@pytest.mark.parametrize("what,local_listen,production_listen", SERVERS,
                         ids=[s[0] for s in SERVERS])
def test_both_sites_route_the_same_paths_to_the_same_programs(what, local_listen,
                                                              production_listen):
    local = local_routes(listen=local_listen)
    production = production_routes(listen=production_listen)
    assert len(local) >= (10 if what == "public" else 2)
    assert differences(local, production) == []


def test_every_program_is_reachable_in_both_sites():
    programs = {p.parent.name for p in (ROOT / "fcgi-apps").glob("*/main.c")}
    for text in (LOCAL.read_text(), PRODUCTION.read_text()):
        sockets = {s for socks in upstream_sockets(parse(text)).values() for s in socks}
        missing = {p for p in programs if f"{p}.sock" not in sockets}
        assert not missing, f"programs without an upstream: {missing}"


@pytest.mark.parametrize("mutate", [
    # a location that exists in one site only
    lambda t: t.replace("location = /readyz {", "location = /readyz2 {"),
    # the same path sent to another program
    lambda t: t.replace("fastcgi_pass oshxona_auth;", "fastcgi_pass oshxona_orders;"),
    # a different body limit for uploads
    lambda t: t.replace("client_max_body_size 6m;", "client_max_body_size 60m;"),
    # a subscriber without its authorization
    lambda t: t.replace("auth_request /__oshxona_chanauth;", "", 1),
    # the authorizer told another URI
    lambda t: t.replace("fastcgi_param ORIGINAL_URI $request_uri;",
                        "fastcgi_param ORIGINAL_URI $uri;"),
])
def test_the_comparison_sees_drift(mutate):
    text = PRODUCTION.read_text()
    changed = mutate(text)
    assert changed != text
    assert differences(local_routes(), production_routes(changed)) != []
