"""Connection floods, body limits, encodings, version retries and TLS of the
real ``keras-gan serve`` on 127.0.0.1 (README "Serving: limits, timeouts, TLS,
memory bound").

Two server processes start in parallel for the module: ``plain`` (HTTP and
insecure gRPC, short timeouts, a cap of 40 REST connections, one request
thread, 1 MiB bodies) and ``tls`` (HTTPS and secure gRPC from a self-signed
certificate made here with the ``openssl`` command).
"""

import concurrent.futures
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import zlib

import grpc
import numpy as np
import pytest
import requests
from serving_fuzz import (
    MODELS,
    Generators,
    Memory,
    build_models,
    export_models,
    send_raw,
    statuses,
)
from serving_helpers import REPO, start_server
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from keras_gan.serving.bodies import memory_bound_bytes

MAX_BYTES = 1 << 20
MAX_CONNECTIONS = 40
IDLE_TIMEOUT = 1.0
BODY_TIMEOUT = 3.0
PLAIN_FLAGS = [
    "--max_request_bytes", str(MAX_BYTES),
    "--num_request_threads", "1",
    "--rest_max_connections", str(MAX_CONNECTIONS),
    "--rest_idle_timeout_seconds", str(IDLE_TIMEOUT),
    "--rest_body_timeout_seconds", str(BODY_TIMEOUT),
    "--grpc_max_connections", "2",
    "--grpc_max_connection_idle_seconds", "1",
    "--file_system_poll_wait_seconds", "0",
]  # fmt: skip
SAMPLE = json.dumps({"signature_name": "sample", "inputs": {"num_samples": 3, "seed": 42}}).encode()


def make_certificate(directory):
    """A self-signed certificate for localhost/127.0.0.1: ``(cert, key)`` paths."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("hardening")
    generators = build_models()
    config = export_models(root, generators)
    cert, key = make_certificate(root)
    ssl_config = root / "ssl.config"
    ssl_config.write_text(
        f"server_cert: {json.dumps(cert.read_text())}\nserver_key: {json.dumps(key.read_text())}\n"
    )
    common = ["--model_config_file", str(config)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        plain = pool.submit(start_server, [*common, *PLAIN_FLAGS], list(MODELS), root / "plain.log")
        tls = pool.submit(
            start_server,
            [*common, "--ssl_config_file", str(ssl_config), "--file_system_poll_wait_seconds", "0"],
            list(MODELS),
            root / "tls.log",
            scheme="https",
            verify=str(cert),
        )
        plain, tls = plain.result(), tls.result()
    plain.generators = tls.generators = Generators(generators)
    tls.cert = cert
    yield plain, tls
    for server in (plain, tls):
        assert server.stop() == 0, server.log()[-3000:]
        log = server.log()
        assert "Traceback" not in log and "unexpected error" not in log, log[-3000:]


@pytest.fixture(scope="module")
def plain(servers):
    return servers[0]


def post(server, body, headers=None, timeout=30):
    return requests.post(
        f"{server.rest_url}/v1/models/fuzz:predict", data=body, headers=headers, timeout=timeout
    )


def assert_sample(server, response):
    assert response.status_code == 200, response.text[:300]
    expected = server.generators.sample("fuzz", 3, 42)
    np.testing.assert_allclose(response.json()["outputs"], expected, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------ connections
def test_stalled_connections_time_out_and_service_resumes(plain):
    """The cap's worth of idle, partial-header and stalled-body connections:
    a new client waits (not refused) and is answered once they time out."""
    log_lines = plain.log().count("\n")
    head = b"POST /v1/models/fuzz:predict HTTP/1.1\r\nHost: x\r\n"
    kinds = [b"", head, head + b"Content-Length: 1000\r\n\r\n" + SAMPLE]
    socks = []
    for i in range(MAX_CONNECTIONS):
        sock = socket.create_connection(("127.0.0.1", plain.rest_port), timeout=15)
        sock.sendall(kinds[i % 3])
        socks.append((i % 3, sock))
    time.sleep(0.3)  # every one of them accepted: the server is at its cap
    start = time.monotonic()
    response = post(plain, SAMPLE, timeout=20)
    waited = time.monotonic() - start
    assert_sample(plain, response)
    # It waited in the backlog until the idle/partial ones were closed (1 s).
    assert 0.5 < waited < IDLE_TIMEOUT + BODY_TIMEOUT + 3, waited
    for kind, sock in socks:  # each was closed by the server: 408 for stalled bodies
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        sock.close()
        assert statuses(received) == ([408] if kind == 2 else []), (kind, received[:200])
    assert time.monotonic() - start < BODY_TIMEOUT + IDLE_TIMEOUT + 3
    log = plain.log()
    assert log.count("\n") - log_lines < 5, log[-2000:]  # the flood left the log quiet


ACCEPT_ERRORS_SCRIPT = textwrap.dedent(
    """
    import asyncio, logging, os, resource, socket, sys, time
    from aiohttp import web
    from keras_gan.serving.listener import start_rest

    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")

    async def main():
        app = web.Application()
        app.router.add_get("/", lambda request: web.Response(text="ok"))
        runner, listener = await start_rest(app, "127.0.0.1", 0, 100, idle_timeout=5)
        port = listener.port
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        filler = []
        try:
            while True:
                filler.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass  # no descriptor is left: accept() fails with EMFILE
        os.close(filler.pop())  # one for the client below
        client = socket.socket()
        client.setblocking(False)
        try:
            client.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        await asyncio.sleep(2.5)  # accept() fails all this time
        for fd in filler:
            os.close(fd)
        reader, writer = await asyncio.open_connection(sock=client)
        writer.write(b"GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
        answer = await asyncio.wait_for(reader.read(), 5)
        print("ANSWER", answer.split(b"\\r\\n")[0].decode())
        await listener.close()
        await runner.cleanup()

    asyncio.run(main())
    """
)


def test_accept_errors_are_logged_at_most_once_a_second(tmp_path):
    """The process runs out of file descriptors while a client waits: the
    failed accepts are logged at most once a second, and the client is served
    as soon as descriptors are free again."""
    proc = subprocess.run(
        [sys.executable, "-c", ACCEPT_ERRORS_SCRIPT],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    errors = [line for line in proc.stdout.splitlines() if "cannot accept" in line]
    assert 1 <= len(errors) <= 4, proc.stdout  # 2.5 s of failures
    assert "Too many open files" in errors[0]
    assert any("more since the last such line" in line for line in errors[1:]), errors
    assert "ANSWER HTTP/1.1 200 OK" in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


# ------------------------------------------------------------ memory
def test_peak_memory_under_concurrent_maximum_bodies_is_within_the_bound(plain):
    """24 clients at once send bodies at --max_request_bytes that must be parsed
    before they are refused (too many rows), half of them the worst JSON for
    memory (empty objects): the server's RSS stays within the stated bound."""
    bodies = [
        b'{"instances": [' + unit * ((MAX_BYTES - 40) // len(unit)) + b"0.5]}"
        for unit in (b"0.5,", b"{},")
    ]
    assert all(len(b) <= MAX_BYTES for b in bodies)
    memory = Memory(plain.proc.pid).start()
    baseline = memory.rss()
    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        codes = list(pool.map(lambda i: post(plain, bodies[i % 2]).status_code, range(24)))
    memory.stop()
    # 400: parsed and refused; 503: waited longer than the body timeout for a slot.
    assert set(codes) <= {400, 503} and codes.count(400) >= 12, codes
    bound = memory_bound_bytes(MAX_BYTES, slots=1, connections=MAX_CONNECTIONS)
    grown = memory.peak - baseline
    assert grown < bound, f"RSS grew by {grown / 2**20:.0f} MB; bound {bound / 2**20:.0f} MB"


# ------------------------------------------------------------ encodings
def test_compressed_bodies(plain):
    assert_sample(plain, post(plain, gzip.compress(SAMPLE), {"Content-Encoding": "gzip"}))
    assert_sample(plain, post(plain, zlib.compress(SAMPLE), {"Content-Encoding": "deflate"}))

    corrupt = bytearray(gzip.compress(SAMPLE))
    corrupt[12:20] = b"\xff" * 8
    r = post(plain, bytes(corrupt), {"Content-Encoding": "gzip"})
    assert r.status_code == 400 and "cannot be decompressed" in r.json()["error"], r.text
    r = post(plain, b"not deflate at all", {"Content-Encoding": "deflate"})
    assert r.status_code == 400 and "cannot be decompressed" in r.json()["error"], r.text

    # A bomb: 4 KB that decompress to 3x the limit; refused after the limit.
    bomb = gzip.compress(b'{"instances": [' + b" " * (3 * MAX_BYTES) + b"]}")
    assert len(bomb) < 10_000
    r = post(plain, bomb, {"Content-Encoding": "gzip"})
    assert r.status_code == 413 and "after decompression" in r.json()["error"], r.text

    r = post(plain, SAMPLE, {"Content-Encoding": "compress"})
    assert r.status_code == 400 and "Unsupported Content-Encoding" in r.json()["error"], r.text
    assert "Traceback" not in plain.log()


def test_a_half_closed_http10_post_without_length_gets_411(plain):
    with socket.create_connection(("127.0.0.1", plain.rest_port), timeout=10) as sock:
        sock.sendall(b"POST /v1/models/fuzz:predict HTTP/1.0\r\n\r\n" + SAMPLE)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    # aiohttp reads an HTTP/1.0 request without a length as having no body,
    # so the JSON after it is an unparsable next request: 400, or 411 first.
    assert statuses(received)[:1] in ([411], [400]), received[:300]
    assert b"Content-Length" in received.partition(b"\r\n\r\n")[2], received[:500]
    # The same request over HTTP/1.1 (connection kept open): 411, naming the header.
    received = send_raw(
        plain.rest_port, b"POST /v1/models/fuzz:predict HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    assert statuses(received) == [411], received[:300]
    assert b"Content-Length" in received.partition(b"\r\n\r\n")[2]


def test_invalid_protobuf_bytes_get_invalid_argument(plain):
    with grpc.insecure_channel(plain.grpc_target) as channel:
        call = channel.unary_unary("/tensorflow.serving.PredictionService/Predict")
        with pytest.raises(grpc.RpcError) as info:
            call(b"\xff\xff\xff\xff", timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value
    assert "not a valid tensorflow.serving.PredictRequest" in info.value.details()


def test_grpc_connection_cap_and_idle_timeout(plain):
    """--grpc_max_connections 2: a third connection is closed at once, and
    service resumes when the others go; --grpc_max_connection_idle_seconds 1:
    a channel without calls is sent away (it reconnects when used)."""
    held = [socket.create_connection(("127.0.0.1", plain.grpc_port), timeout=10) for _ in "ab"]
    time.sleep(0.3)
    with socket.create_connection(("127.0.0.1", plain.grpc_port), timeout=10) as third:
        third.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        start = time.monotonic()
        try:
            while third.recv(65536):
                pass
        except ConnectionResetError:
            pass
        assert time.monotonic() - start < 5  # closed by the server, not by a timeout
    for sock in held:
        sock.close()
    time.sleep(0.3)
    with grpc.insecure_channel(plain.grpc_target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        stub.Predict(sample_request(), timeout=30)
        assert channel._channel.check_connectivity_state(False) == 2  # READY
        time.sleep(2.5)  # > the idle limit: the server closed the connection (GOAWAY)
        assert channel._channel.check_connectivity_state(False) == 0  # IDLE
        stub.Predict(sample_request(), timeout=30)  # reconnects


def sample_request():
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "fuzz"
    request.model_spec.signature_name = "sample"
    request.inputs["num_samples"].CopyFrom(_scalar(3, "int32"))
    request.inputs["seed"].CopyFrom(_scalar(42, "int64"))
    return request


# ------------------------------------------------------------ TLS
def test_tls_round_trips_over_https_and_grpc(servers):
    _, tls = servers
    r = requests.post(
        f"https://localhost:{tls.rest_port}/v1/models/fuzz:predict",
        data=SAMPLE,
        verify=str(tls.cert),
        timeout=30,
    )
    assert_sample(tls, r)
    with pytest.raises(requests.exceptions.SSLError):  # not signed by a trusted CA
        requests.get(f"https://localhost:{tls.rest_port}/v1/models/fuzz", timeout=10)
    with pytest.raises(requests.exceptions.ConnectionError):  # plain HTTP is not served
        requests.get(f"http://127.0.0.1:{tls.rest_port}/v1/models/fuzz", timeout=10)

    credentials = grpc.ssl_channel_credentials(root_certificates=tls.cert.read_bytes())
    with grpc.secure_channel(f"localhost:{tls.grpc_port}", credentials) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        images = stub.Predict(sample_request(), timeout=30).outputs["images"]
    import tensorflow as tf

    got = tf.make_ndarray(images)
    np.testing.assert_allclose(got, tls.generators.sample("fuzz", 3, 42), rtol=1e-5, atol=1e-5)


def _scalar(value, dtype):
    import tensorflow as tf

    return tf.make_tensor_proto(np.asarray(value, dtype=dtype))


def test_a_bad_certificate_is_one_line(tmp_path):
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    from conftest import run_cli

    proc = run_cli(
        "serve", "--model_base_path", str(tmp_path), "--port", "0", "--rest_api_port", "0",
        "--ssl_cert_file", str(tmp_path / "bad.pem"), "--ssl_key_file", str(tmp_path / "bad.pem"),
        check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and "cannot be used" in lines[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------ version retries
def test_a_failed_version_is_retried_when_its_variables_file_is_completed(tmp_path):
    """A version whose variables data file was cut short fails to load; once the
    file is completed in place (no new directory entry, so the directories'
    mtimes do not change) the next poll loads it."""
    from keras_gan.serving.config import load_model_config
    from keras_gan.serving.registry import ModelRegistry

    config = export_models(tmp_path, {"fuzz": build_models()["fuzz"]})
    base = tmp_path / "fuzz"
    shutil.copytree(base / "1", tmp_path / "v2")
    (data,) = [p for p in (tmp_path / "v2" / "variables").iterdir() if ".data-" in p.name]
    content = data.read_bytes()
    data.write_bytes(content[: len(content) // 2])
    os.rename(tmp_path / "v2", base / "2")  # published "atomically", but incomplete
    registry = ModelRegistry(load_model_config(str(config)), poll_wait_seconds=0)
    registry.poll()
    states = dict(registry.status("fuzz"))
    assert states[2].state == "END" and states[2].error_code != "OK", states[2]
    assert registry.get("fuzz").version == 1
    registry.poll()  # unchanged: not retried
    assert dict(registry.status("fuzz"))[2].state == "END"
    with open(base / "2" / "variables" / data.name, "r+b") as f:  # completed in place
        f.write(content)
    registry.poll()
    assert registry.get("fuzz").version == 2
    assert dict(registry.status("fuzz"))[2].state == "AVAILABLE"


def test_mutual_tls_admits_only_clients_with_a_certificate_from_the_ca(tmp_path):
    """--ssl_ca_file: the REST listener (in process, no model) requires a client
    certificate signed by that CA; system CAs are not trusted for clients."""
    import asyncio
    import ssl

    from aiohttp import web

    from keras_gan.serving.listener import start_rest
    from keras_gan.serving.tls import from_files, rest_context

    (tmp_path / "server").mkdir()
    (tmp_path / "client").mkdir()
    (tmp_path / "other").mkdir()
    server_cert, server_key = make_certificate(tmp_path / "server")
    client_cert, client_key = make_certificate(tmp_path / "client")  # its own CA
    other_cert, other_key = make_certificate(tmp_path / "other")
    context = rest_context(from_files(server_cert, server_key, ca_file=client_cert))

    async def get(port, cert=None):
        client = ssl.create_default_context(cafile=str(server_cert))
        if cert is not None:
            client.load_cert_chain(*cert)
        try:
            reader, writer = await asyncio.open_connection("localhost", port, ssl=client)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            return answer.split(b"\r\n")[0]
        except (ssl.SSLError, ConnectionError) as e:
            return type(e).__name__

    async def main():
        app = web.Application()
        app.router.add_get("/", lambda request: web.Response(text="ok"))
        runner, listener = await start_rest(app, "127.0.0.1", 0, 10, idle_timeout=5, ssl=context)
        try:
            return [
                await get(listener.port, (client_cert, client_key)),
                await get(listener.port),
                await get(listener.port, (other_cert, other_key)),
            ]
        finally:
            await listener.close()
            await runner.cleanup()

    with_ca, without, other = asyncio.run(main())
    assert with_ca == b"HTTP/1.1 200 OK"
    assert without != b"HTTP/1.1 200 OK" and other != b"HTTP/1.1 200 OK", (without, other)


def test_ssl_config_file_errors_are_one_line(tmp_path):
    from keras_gan.serving.tls import TlsError, from_ssl_config_file

    path = tmp_path / "ssl.config"
    path.write_text("server_cert: 12 12\n")
    with pytest.raises(TlsError, match="is not an SSLConfig text proto"):
        from_ssl_config_file(path)
    path.write_text('server_cert: "x"\n')
    with pytest.raises(TlsError, match="needs server_cert and server_key"):
        from_ssl_config_file(path)
    path.write_text('server_cert: "x" server_key: "y" client_verify: true\n')
    with pytest.raises(TlsError, match="client_verify needs custom_ca"):
        from_ssl_config_file(path)
