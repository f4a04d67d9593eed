"""``--model_config_file_poll_wait_seconds``: the model config file, re-read.

Every ``poll_wait_seconds`` the file is read again (as TF Serving does). When
its models differ from the ones served, the registry switches to them: models
added are loaded, models removed stop being served, version policies and
labels changed take effect, all without a restart and without disturbing the
requests to the models that stay. A new file that cannot be read or parsed is
logged (once per distinct error) and the old config keeps serving.

Example:

```python
from keras_gan.serving.reload import ConfigPoller

poller = ConfigPoller(registry, "serving/models.config", poll_wait_seconds=5)
poller.start()   # keras-gan serve does this for --model_config_file_poll_wait_seconds
poller.stop()
```
"""

from __future__ import annotations

import logging

from keras_gan.serving.config import ModelConfigError, load_model_config
from keras_gan.serving.polling import Poller

logger = logging.getLogger("keras_gan.serving")


class ConfigPoller:
    """Re-reads ``path`` every ``poll_wait_seconds`` and applies a changed config.

    Args:
        registry: the :class:`~keras_gan.serving.registry.ModelRegistry`.
        path: the ``--model_config_file``.
        poll_wait_seconds: seconds between reads (> 0).
        initial: the configs being served (what the file held at start).
    """

    def __init__(self, registry, path, poll_wait_seconds, initial=()):
        if not poll_wait_seconds > 0:
            raise ValueError(f"poll_wait_seconds must be > 0; got {poll_wait_seconds}.")
        self.registry = registry
        self.path = path
        self.poll_wait = float(poll_wait_seconds)
        self.current = list(initial)
        self._last_error = None
        self._poller = Poller(self.check, self.poll_wait, "config-poller", "model config reload")

    def start(self):
        self._poller.start()

    def stop(self):
        self._poller.stop()

    def check(self):
        """Read the file once; apply it if it changed. Returns True if applied."""
        try:
            configs = load_model_config(self.path)
        except ModelConfigError as e:
            if str(e) != self._last_error:
                logger.error("model config not reloaded, still serving %s: %s",
                             [c.name for c in self.current], e)  # fmt: skip
                self._last_error = str(e)
            return False
        self._last_error = None
        if configs == self.current:
            return False
        old = {c.name for c in self.current}
        new = {c.name for c in configs}
        logger.info(
            "model config reloaded from %s: added %s, removed %s, kept %s",
            self.path,
            sorted(new - old),
            sorted(old - new),
            sorted(new & old),
        )
        self.current = configs
        self.registry.update_configs(configs)
        return True
