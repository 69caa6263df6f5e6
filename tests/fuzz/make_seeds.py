#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz programs into tests/fuzz/corpus/<target>/, from the cases
the unit tests and the shipped profiles use. Run it again after changing those cases or the
descriptor encoding of checkPluginDescriptor (tests/support/fuzz_targets.cc); the output is
checked in."""
import pathlib
import re
import shutil
import struct

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"


def write(target, name, data):
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def port_specs():
    # Every literal the port spec tests parse, plus the forms the README and profiles show.
    text = (ROOT / "tests/unit/port_spec_test.cc").read_text()
    specs = set(re.findall(r'(?:parseOk|parseError|parsePortSpec)\("((?:[^"\\]|\\.)*)"\)', text))
    specs |= {"127.0.0.1:8080:80/tcp", "0.0.0.0:8053:53/udp", "[::]:8443:443/tcp6",
              ":8080:10.0.2.100:80/udp4", "127.0.0.1:9000:80/sctp"}
    for i, spec in enumerate(sorted(specs)):
        write("port_spec", f"seed-{i:02d}", spec.encode().decode("unicode_escape"))


def profiles():
    sources = sorted((ROOT / "conf").glob("*.yaml"))
    sources += sorted((ROOT / "tests/unit/profile_fixtures").glob("*.yaml"))
    for source in sources:
        prefix = "conf" if source.parent.name == "conf" else "fixture"
        target = CORPUS / "profile" / f"{prefix}-{source.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def request(method, target, body=None, chunked=False):
    head = f"{method} {target} HTTP/1.1\r\nHost: rootlesskit\r\n"
    if body is None:
        return head + "\r\n"
    if chunked:
        return (head + "Transfer-Encoding: chunked\r\n\r\n" +
                f"{len(body.encode()):x}\r\n{body}\r\n0\r\n\r\n")
    return (head + "Content-Type: application/json\r\n" +
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}")


def api_requests():
    spec = '{"proto":"tcp","parentIP":"127.0.0.1","parentPort":8081,"childPort":81}'
    cases = {
        "info": request("GET", "/v1/info"),
        "list": request("GET", "/v1/ports"),
        "list-query": request("GET", "/v1/ports?all=1"),
        "add": request("POST", "/v1/ports", spec),
        "add-chunked": request("POST", "/v1/ports", spec, chunked=True),
        "add-udp-childip": request("POST", "/v1/ports", '{"proto":"udp","parentPort":5353,'
                                   '"childPort":53,"childIP":"10.0.2.100"}'),
        "add-case-insensitive": request("POST", "/v1/ports", '{"Proto":"tcp","PARENTIP":'
                                        '"127.0.0.1","parentPort":8081,"childport":81,'
                                        '"extra":{"nested":[1,2]},"childIP":null}'),
        "add-string-port": request("POST", "/v1/ports", '{"proto":"tcp","parentPort":"8080",'
                                   '"childPort":80}'),
        "add-float-port": request("POST", "/v1/ports", '{"proto":"tcp","parentPort":8080.5,'
                                  '"childPort":80}'),
        "add-bad-json": request("POST", "/v1/ports", '{"proto":"tcp",'),
        "add-conflict": request("POST", "/v1/ports", '{"proto":"tcp","parentIP":"127.0.0.1",'
                                '"parentPort":8080,"childPort":80}'),
        "delete": request("DELETE", "/v1/ports/1"),
        "delete-unknown": request("DELETE", "/v1/ports/7"),
        "delete-bad-id": request("DELETE", "/v1/ports/99999999999999999999"),
        "wrong-method": request("PUT", "/v1/ports"),
        "not-found": request("GET", "/v1/ports/1/x"),
        "add-delete-add": (request("POST", "/v1/ports", spec) + request("DELETE", "/v1/ports/2") +
                           request("POST", "/v1/ports", spec) + request("GET", "/v1/ports")),
        "get-with-body": request("GET", "/v1/info", "{}") + request("GET", "/v1/ports"),
    }
    for name, text in cases.items():
        write("api_request", name, text)


# Plugin descriptors, in the field order checkPluginDescriptor reads them.
SUP_TCP, SUP_UDP, SUP_IPV6, SUP_DETACH, SUP_HOSTFWD = 1, 2, 8, 16, 256
NEED_NETNS, NEED_CHILD_LOOP, NEED_HOSTFWD, NEED_PARENT_LOOP = 1, 8, 32, 64
NET_OPS = 0b111 | 1 << 10 | 1 << 11 | 1 << 12
PORT_OPS = 0b1111111 << 3 | 1 << 10 | 1 << 11 | 1 << 13
PATH_NONE, PATH_PORT, PATH_NET, PATH_OTHER = 0, 1, 2, 3


def text(value):
    data = value.encode()
    return bytes([len(data)]) + data


def descriptor(kind, name, supports, needs, present, *, major=None, minor=0, mtu=0,
               ifname="", protos="", path=PATH_PORT, other_path=""):
    out = bytes([2])  # right struct_size
    out += b"\x00" if major is None else b"\x01" + struct.pack("<H", major)
    out += bytes([minor, kind]) + struct.pack("<I", mtu)
    out += b"\x01" + text(name)
    out += text("1.0") + text("seed") + text(ifname) + text(protos)
    out += bytes([0, 0, 0, 1 if not ifname else 0, 1 if not protos else 0])  # NULL flags
    out += struct.pack("<Q", supports)
    out += b"\x01" + struct.pack("<Q", needs)
    out += struct.pack("<H", present) + bytes([2, 2])  # right ops struct sizes
    out += bytes([path]) + (text(other_path) if path == PATH_OTHER else b"")
    return out


def plugin_descriptors():
    protos = "tcp tcp4 tcp6 udp udp4 udp6"
    builtin_needs = NEED_NETNS | NEED_PARENT_LOOP | NEED_CHILD_LOOP
    cases = {
        "port-builtin": descriptor(2, "builtin", SUP_TCP | SUP_UDP | SUP_IPV6 | SUP_DETACH,
                                   builtin_needs, PORT_OPS, protos=protos),
        "net-slirp4netns": descriptor(1, "slirp4netns", SUP_IPV6 | SUP_HOSTFWD | 1 << 7,
                                      NEED_NETNS, NET_OPS, mtu=65520, ifname="tap0",
                                      path=PATH_NET),
        "port-slirp4netns": descriptor(2, "slirp4netns", SUP_TCP | SUP_UDP | SUP_IPV6,
                                       NEED_NETNS | NEED_HOSTFWD, PORT_OPS, protos=protos),
        "fixture-good": descriptor(2, "good", SUP_TCP | SUP_UDP, NEED_NETNS, PORT_OPS,
                                   protos="tcp udp"),
        "fixture-wrongmajor": descriptor(2, "wrongmajor", SUP_TCP, NEED_NETNS, PORT_OPS, major=2),
        "fixture-newerminor": descriptor(2, "newerminor", SUP_TCP, NEED_NETNS, PORT_OPS, minor=2),
        "fixture-missingfn": descriptor(2, "missingfn", SUP_TCP, NEED_NETNS,
                                        PORT_OPS & ~(1 << 7)),
        "fixture-unknownneeds": descriptor(2, "unknownneeds", SUP_TCP, NEED_NETNS | 1 << 40,
                                           PORT_OPS),
        "fixture-kindmismatch": descriptor(1, "kindmismatch", SUP_TCP, NEED_NETNS, PORT_OPS,
                                           path=PATH_NET),
        "fixture-namemismatch": descriptor(2, "other", SUP_TCP, NEED_NETNS, PORT_OPS,
                                           path=PATH_OTHER, other_path="rkp-port-namemismatch.so"),
    }
    for name, data in cases.items():
        write("plugin_descriptor", name, data)


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    port_specs()
    profiles()
    api_requests()
    plugin_descriptors()


if __name__ == "__main__":
    main()
