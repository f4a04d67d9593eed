"""Start ``keras-gan serve`` as a real subprocess on 127.0.0.1 for tests."""

import os
import subprocess
import sys
import time

import requests

from keras_gan.serving.server import free_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ServerProcess:
    """A running ``keras-gan serve``: its URLs, process and log."""

    def __init__(self, proc, grpc_port, rest_port, log_path, scheme="http"):
        self.proc = proc
        self.grpc_port = grpc_port
        self.rest_port = rest_port
        self.grpc_target = f"127.0.0.1:{grpc_port}"
        host = "localhost" if scheme == "https" else "127.0.0.1"  # the test certificate's name
        self.rest_url = f"{scheme}://{host}:{rest_port}" if rest_port else None
        self.log_path = log_path

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self, timeout=30):
        """SIGTERM (graceful), then SIGKILL if it does not exit; the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        return self.proc.returncode


def _rest_ready(url, models, verify=True):
    for name in models:
        try:
            r = requests.get(f"{url}/v1/models/{name}", timeout=2, verify=verify)
        except requests.RequestException:
            return False
        if r.status_code != 200:
            return False
        if not any(s["state"] == "AVAILABLE" for s in r.json()["model_version_status"]):
            return False
    return True


def _grpc_ready(target, models):
    from keras_gan.serving import GrpcSampleClient, ServingError

    for name in models:
        with GrpcSampleClient(target, model=name, timeout=2) as client:
            try:
                if not any(s["state"] == "AVAILABLE" for s in client.status()):
                    return False
            except ServingError:
                return False
    return True


def start_server(
    args, models, log_path, rest=True, timeout=240, attempts=3, scheme="http", verify=True
):
    """Start ``keras-gan serve *args`` on free ports and wait until every model
    in ``models`` has an AVAILABLE version (polling the status endpoint;
    ``scheme="https"`` with ``verify``, the CA file, for a TLS server).
    Free ports can be taken by another process before the server binds them:
    then it retries on new ones."""
    for attempt in range(attempts):
        grpc_port = free_port()
        rest_port = free_port() if rest else 0
        while rest and rest_port == grpc_port:
            rest_port = free_port()
        cmd = [
            sys.executable, "-m", "keras_gan", "serve",
            "--host", "127.0.0.1",
            "--port", str(grpc_port),
            "--rest_api_port", str(rest_port),
            *args,
        ]  # fmt: skip
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
            )
        server = ServerProcess(proc, grpc_port, rest_port, log_path, scheme)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if proc.poll() is not None:
                    text = server.log()
                    if "cannot listen" in text and attempt < attempts - 1:
                        break  # a port was taken meanwhile: try others
                    raise AssertionError(
                        f"keras-gan serve exited with {proc.returncode}:\n{text[-4000:]}"
                    )
                ready = (
                    _rest_ready(server.rest_url, models, verify)
                    if rest
                    else _grpc_ready(server.grpc_target, models)
                )
                if ready:
                    return server
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"keras-gan serve not ready after {timeout} s:\n{server.log()[-4000:]}"
                    )
                time.sleep(0.2)
        except BaseException:
            server.stop()
            raise
    raise AssertionError("keras-gan serve could not bind free ports")


def wait_for(predicate, timeout=60, interval=0.2, what="condition"):
    """Poll ``predicate()`` until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
