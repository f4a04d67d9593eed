"""TLS for ``keras-gan serve``: one certificate for REST (HTTPS) and gRPC.

Two ways to give it, both checked at start (a bad file is one line naming it):

* ``--ssl_cert_file`` and ``--ssl_key_file`` (PEM files), optionally
  ``--ssl_ca_file`` to require client certificates signed by that CA;
* ``--ssl_config_file``: TF Serving's ``SSLConfig`` text format (the PEM
  contents inline: ``server_key``, ``server_cert``, ``custom_ca``,
  ``client_verify``), which TF Serving applies to gRPC; here it secures REST too.

Example:

```python
config = from_files("server.crt", "server.key")
context = rest_context(config)          # ssl.SSLContext for aiohttp
credentials = grpc_credentials(config)  # grpc.ServerCredentials for add_secure_port
```
"""

from __future__ import annotations

import dataclasses
import os
import ssl
import tempfile


class TlsError(ValueError):
    """A certificate, key or SSL config that cannot be used (one line)."""


@dataclasses.dataclass(frozen=True)
class TlsConfig:
    """PEM bytes of the server's certificate chain and key, and of the CA that
    client certificates must be signed by (``client_verify``)."""

    cert_chain: bytes
    private_key: bytes
    client_ca: bytes | None = None
    client_verify: bool = False
    source: str = ""


def _read(path, flag):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise TlsError(f"cannot read {flag} {path}: {e.strerror or e}") from None


def from_files(cert_file, key_file, ca_file=None):
    """The config of PEM files (``ca_file``: require client certificates)."""
    if not cert_file or not key_file:
        raise TlsError("--ssl_cert_file and --ssl_key_file go together: pass both.")
    ca = _read(ca_file, "--ssl_ca_file") if ca_file else None
    return TlsConfig(
        _read(cert_file, "--ssl_cert_file"),
        _read(key_file, "--ssl_key_file"),
        ca,
        client_verify=ca is not None,
        source=f"{cert_file} and {key_file}",
    )


def _ssl_config_class():
    """TF Serving's ``tensorflow.serving.SSLConfig`` message (ssl_config.proto),
    built in a private descriptor pool: ``tensorflow-serving-api`` does not
    ship its Python module."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    proto = descriptor_pb2.FileDescriptorProto(
        name="tensorflow_serving/config/ssl_config.proto",
        package="tensorflow.serving",
        syntax="proto3",
    )
    message = proto.message_type.add(name="SSLConfig")
    field = descriptor_pb2.FieldDescriptorProto
    for number, (name, kind) in enumerate(
        [
            ("server_key", field.TYPE_STRING),
            ("server_cert", field.TYPE_STRING),
            ("custom_ca", field.TYPE_STRING),
            ("client_verify", field.TYPE_BOOL),
        ],
        start=1,
    ):
        message.field.add(name=name, number=number, type=kind, label=field.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.SSLConfig")
    )


def from_ssl_config_file(path):
    """The config of a TF Serving ``--ssl_config_file`` (``SSLConfig`` text format)."""
    from google.protobuf import text_format

    text = _read(path, "--ssl_config_file")
    message = _ssl_config_class()()
    try:
        text_format.Parse(text.decode("utf-8"), message)
    except (text_format.ParseError, UnicodeDecodeError) as e:
        raise TlsError(f"--ssl_config_file {path} is not an SSLConfig text proto: {e}") from None
    if not message.server_cert or not message.server_key:
        raise TlsError(f"--ssl_config_file {path} needs server_cert and server_key.")
    if message.client_verify and not message.custom_ca:
        raise TlsError(f"--ssl_config_file {path}: client_verify needs custom_ca.")
    return TlsConfig(
        message.server_cert.encode(),
        message.server_key.encode(),
        message.custom_ca.encode() or None,
        client_verify=message.client_verify,
        source=path,
    )


def rest_context(config):
    """An ``ssl.SSLContext`` serving ``config`` (TLS 1.2+). Raises TlsError."""
    # Not create_default_context: it would trust the system's CAs for client
    # certificates too; here only the configured CA is.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # load_cert_chain reads files only: the PEM goes through a private
    # temporary directory that is removed at once.
    with tempfile.TemporaryDirectory(prefix="keras-gan-tls-") as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        for path, data in ((cert, config.cert_chain), (key, config.private_key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        try:
            context.load_cert_chain(cert, key)
        except ssl.SSLError as e:
            raise TlsError(
                f"the TLS certificate and key of {config.source} cannot be used: "
                f"{e.reason or e} (PEM certificate chain and matching private key expected)"
            ) from None
    if config.client_ca:
        try:
            context.load_verify_locations(cadata=config.client_ca.decode("ascii", "replace"))
        except ssl.SSLError as e:
            raise TlsError(f"the client CA of {config.source} cannot be used: {e}") from None
        context.verify_mode = ssl.CERT_REQUIRED if config.client_verify else ssl.CERT_OPTIONAL
    return context


def grpc_credentials(config):
    """``grpc.ServerCredentials`` serving ``config``."""
    import grpc

    return grpc.ssl_server_credentials(
        [(config.private_key, config.cert_chain)],
        root_certificates=config.client_ca,
        require_client_auth=bool(config.client_verify),
    )
