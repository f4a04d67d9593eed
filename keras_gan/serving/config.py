"""Which models to serve: TF Serving's ``--model_config_file`` or its two flags.

The file is a ``ModelServerConfig`` in protobuf text format, parsed with
protobuf's own ``text_format`` into TF Serving's message
(``tensorflow_serving.config.model_server_config_pb2``), so any file that
``tensorflow_model_server`` accepts parses the same way here:

```
model_config_list {
  config {
    name: "mnist_gan"
    base_path: "/models/mnist_gan"
    model_platform: "tensorflow"
    model_version_policy { latest { num_versions: 2 } }
    version_labels { key: "stable" value: 1 }
  }
}
```

Supported: ``name``, ``base_path`` (a relative path is taken from the current
directory, as TF Serving does), ``model_platform`` (``tensorflow`` or empty),
``model_version_policy`` (``latest`` -- the default, 1 version --, ``all``,
``specific``) and ``version_labels``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

DEFAULT_NUM_VERSIONS = 1


class ModelConfigError(ValueError):
    """The model configuration is invalid; the message says where and why."""


@dataclass(frozen=True)
class VersionPolicy:
    """TF Serving's ``ServableVersionPolicy``: ``latest`` N, ``all`` or ``specific``."""

    kind: str = "latest"
    num_versions: int = DEFAULT_NUM_VERSIONS
    versions: tuple = ()

    def select(self, versions):
        """The versions to serve among the available ``versions``."""
        versions = sorted(set(versions))
        if self.kind == "all":
            return versions
        if self.kind == "specific":
            return [v for v in versions if v in self.versions]
        return versions[-self.num_versions :] if versions else []

    def describe(self):
        if self.kind == "latest":
            return f"latest {self.num_versions}"
        if self.kind == "specific":
            return f"specific {list(self.versions)}"
        return "all"


@dataclass(frozen=True)
class ServedModelConfig:
    """One model to serve."""

    name: str
    base_path: str
    policy: VersionPolicy = VersionPolicy()
    labels: dict = field(default_factory=dict)


def _check_name(name, where):
    if not name:
        raise ModelConfigError(f"{where}: the model needs a non-empty name.")
    if "/" in name or ":" in name:
        raise ModelConfigError(f"{where}: model name {name!r} may not contain '/' or ':'.")
    return name


def from_flags(model_name, model_base_path):
    """The single model of ``--model_name`` / ``--model_base_path``."""
    if not model_base_path:
        raise ModelConfigError(
            "Nothing to serve: pass --model_base_path (with --model_name) or --model_config_file."
        )
    name = _check_name(model_name or "default", "--model_name")
    return [ServedModelConfig(name, os.path.abspath(os.path.expanduser(model_base_path)))]


def _policy(config, where):
    policy = config.model_version_policy
    which = policy.WhichOneof("policy_choice")
    if which is None or which == "latest":
        n = policy.latest.num_versions if which else DEFAULT_NUM_VERSIONS
        if which and n == 0:
            n = DEFAULT_NUM_VERSIONS
        if n < 1:
            raise ModelConfigError(f"{where}: latest.num_versions must be >= 1; got {n}.")
        return VersionPolicy("latest", num_versions=n)
    if which == "all":
        return VersionPolicy("all")
    versions = tuple(sorted(set(policy.specific.versions)))
    if not versions:
        raise ModelConfigError(f"{where}: specific policy needs at least one version.")
    return VersionPolicy("specific", versions=versions)


def parse_model_config(text):
    """The models of a ``ModelServerConfig`` text (see the module doc)."""
    message = model_server_config_pb2.ModelServerConfig()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as e:
        raise ModelConfigError(f"not a valid ModelServerConfig text proto: {e}") from None
    if message.WhichOneof("config") != "model_config_list":
        raise ModelConfigError(
            "the config must hold a model_config_list { config { name: ... base_path: ... } }."
        )
    models = []
    seen = set()
    for i, config in enumerate(message.model_config_list.config):
        where = f"model_config_list.config[{i}]"
        name = _check_name(config.name, where)
        if name in seen:
            raise ModelConfigError(f"{where}: model name {name!r} appears twice.")
        seen.add(name)
        if not config.base_path:
            raise ModelConfigError(f"{where} ({name}): base_path is required.")
        if config.model_platform not in ("", "tensorflow"):
            raise ModelConfigError(
                f"{where} ({name}): model_platform {config.model_platform!r} is not supported; "
                "allowed: 'tensorflow'."
            )
        models.append(
            ServedModelConfig(
                name,
                os.path.abspath(os.path.expanduser(config.base_path)),
                _policy(config, f"{where} ({name})"),
                dict(config.version_labels),
            )
        )
    if not models:
        raise ModelConfigError("the model_config_list has no config entries.")
    return models


def read_flag_file(path, what, parse, error):
    """``parse(text)`` of the text file ``path`` given to a flag (``what``, e.g. "model
    config file"); an unreadable file or a ``parse`` error is ``error`` naming the path."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise error(f"cannot read the {what} {path}: {e.strerror}") from None
    try:
        return parse(text)
    except error as e:
        raise error(f"{path}: {e}") from None


def load_model_config(path):
    """Read and parse ``--model_config_file``."""
    return read_flag_file(path, "model config file", parse_model_config, ModelConfigError)
