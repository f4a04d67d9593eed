"""The optional parts of ``keras-gan serve``, built from its options.

* ``--enable_batching`` / ``--batching_parameters_file``:
  :mod:`keras_gan.serving.batching`;
* ``--monitoring_config_file``: :mod:`keras_gan.serving.monitoring`;
* ``--model_config_file_poll_wait_seconds``: :mod:`keras_gan.serving.reload`;
* the sample explorer page at ``GET /`` (``--noexplorer`` turns it off):
  :mod:`keras_gan.serving.explorer`.

:class:`Extensions` gives the server what each needs (a batcher and a monitor
for the request path, gRPC interceptors, REST routes, a wrapped loader, a
background poller), so the server itself does not branch on them.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("keras_gan.serving")


class Extensions:
    """The optional parts of a server with ``options`` (a ``ServerOptions``)."""

    def __init__(self, options):
        self.options = options
        self.batcher = None
        self.monitor = None
        self.registry = None
        self._poller = None
        if options.monitoring_path:
            from keras_gan.serving.monitoring import Monitor

            self.monitor = Monitor(options.monitoring_path)
        if options.enable_batching:
            from keras_gan.serving.batching import Batcher, BatchingParameters

            params = options.batching_parameters or BatchingParameters()
            on_batch = self.monitor.observe_batch if self.monitor is not None else None
            self.batcher = Batcher(params, on_batch=on_batch)
            logger.info("batching: %s", params.describe())

    def request_threads(self, num_request_threads):
        """Request threads: those waiting on a batch do no work, so batching adds some."""
        if self.batcher is None:
            return num_request_threads
        return num_request_threads + self.batcher.waiting_threads

    def grpc_interceptors(self):
        return [self.monitor.grpc_interceptor()] if self.monitor is not None else []

    def rest_plugins(self):
        plugins = []
        if self.monitor is not None:
            plugins.append(self.monitor.install)
        if self.options.explorer:
            from keras_gan.serving.explorer import make_install

            plugins.append(make_install(lambda: self.registry))
        return plugins

    def loader(self, load):
        return self.monitor.wrap_loader(load) if self.monitor is not None else load

    def start(self, registry):
        """Start polling the model config file, when asked to."""
        self.registry = registry
        options = self.options
        if options.model_config_file and options.model_config_file_poll_wait_seconds > 0:
            from keras_gan.serving.reload import ConfigPoller

            self._poller = ConfigPoller(
                registry,
                options.model_config_file,
                options.model_config_file_poll_wait_seconds,
                initial=options.models,
            )
            self._poller.start()

    def stop(self):
        if self._poller is not None:
            self._poller.stop()
        if self.batcher is not None:
            self.batcher.close()
