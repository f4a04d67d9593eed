"""TF Serving's gRPC services on ``grpc.aio`` with the protos of
``tensorflow-serving-api``: ``PredictionService.Predict`` and
``GetModelMetadata``, ``ModelService.GetModelStatus``.

Errors are gRPC statuses with TF Serving's codes (``INVALID_ARGUMENT`` for bad
input, bytes that are not the request message included; ``NOT_FOUND`` for an
unknown model or version, ``RESOURCE_EXHAUSTED`` for a message over
``--max_request_bytes``, enforced by gRPC itself). Decoding, checking and
running happen in the same bounded thread pool as REST.

:func:`server_options` holds the connection limits (``grpc.*`` channel
arguments): open connections, streams per connection, idle connections closed,
handshake timeout, and keepalive pings from clients at most every 10 s
(``GOAWAY`` for more).
"""

from __future__ import annotations

import asyncio
import logging

import grpc
from google.protobuf import message_factory
from tensorflow_serving.apis import (
    model_service_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2,
    prediction_service_pb2_grpc,
)

from keras_gan.serving import predict as core
from keras_gan.serving.errors import ServingError, invalid, release
from keras_gan.serving.tensors import array_to_tensor_proto, tensor_proto_to_array

logger = logging.getLogger("keras_gan.serving")


def _spec(model_spec):
    """``(name, version, label)`` of a request's ``ModelSpec``."""
    if not model_spec.name:
        raise invalid("Missing model name in request (model_spec.name).")
    version = model_spec.version.value if model_spec.HasField("version") else None
    label = model_spec.version_label or None
    if version is not None and label is not None:
        raise invalid(
            f"Both model version ({version}) and model version label ({label}) cannot be supplied."
        )
    return model_spec.name, version, label


class _Base:
    def __init__(self, registry, limits, executor):
        self.registry = registry
        self.limits = limits
        self.executor = executor

    async def _run(self, context, fn, *args):
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, fn, *args)
        except ServingError as e:
            release(e)  # frees the request's memory now (see errors.release)
            code, message = grpc.StatusCode[e.code], e.message
        except Exception as e:  # a bug: log it, answer INTERNAL without a traceback
            logger.exception("unexpected error in %s", getattr(fn, "__name__", fn))
            release(e)
            code, message = grpc.StatusCode.INTERNAL, f"Internal error: {type(e).__name__}"
        await context.abort(code, message)


class PredictionService(_Base, prediction_service_pb2_grpc.PredictionServiceServicer):
    """``Predict`` and ``GetModelMetadata``; the other methods answer
    INVALID_ARGUMENT (a generator has no classify/regress signature)."""

    def _predict(self, request):
        name, version, label = _spec(request.model_spec)

        def decode(signature, max_batch):
            core.check_input_names(signature, request.inputs)
            return {
                k: tensor_proto_to_array(signature.inputs[k], v, max_batch)
                for k, v in request.inputs.items()
            }

        loaded, key, outputs = core.predict(
            self.registry,
            self.limits,
            name,
            version,
            label,
            request.model_spec.signature_name,
            decode,
            output_filter=list(request.output_filter),
        )
        response = predict_pb2.PredictResponse(
            model_spec=core.model_spec(name, loaded.version, key)
        )
        for k, v in outputs.items():
            response.outputs[k].CopyFrom(array_to_tensor_proto(v))
        return response

    def _metadata(self, request):
        name, version, label = _spec(request.model_spec)
        return core.metadata_response(
            self.registry, name, version, label, fields=list(request.metadata_field)
        )

    async def Predict(self, request, context):
        return await self._run(context, self._predict, request)

    async def GetModelMetadata(self, request, context):
        return await self._run(context, self._metadata, request)

    async def _unsupported(self, request, context):
        await context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            "Only Predict is supported: the generators served here have no classify or "
            "regress signatures.",
        )

    Classify = Regress = MultiInference = _unsupported


class ModelService(_Base, model_service_pb2_grpc.ModelServiceServicer):
    """``GetModelStatus`` (``HandleReloadConfigRequest`` is not supported)."""

    def _status(self, request):
        name, version, label = _spec(request.model_spec)
        return core.status_response(self.registry, name, version, label)

    async def GetModelStatus(self, request, context):
        return await self._run(context, self._status, request)

    async def HandleReloadConfigRequest(self, request, context):
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            "keras-gan serve does not reload its model config over gRPC; it re-reads the "
            "file itself with --model_config_file_poll_wait_seconds.",
        )


def _raw_handlers(service_descriptor, servicer):
    """gRPC handlers of ``servicer``'s methods that receive the raw request
    bytes: grpc's own deserializer answers undecodable bytes with UNKNOWN
    and the exception's class name, here they are INVALID_ARGUMENT."""
    handlers = {}
    for method in service_descriptor.methods:
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        implementation = getattr(servicer, method.name)

        async def handle(data, context, implementation=implementation, cls=request_class):
            try:
                request = cls.FromString(data)
            except Exception as e:  # DecodeError, RecursionError (nesting), ...
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"The request is not a valid {cls.DESCRIPTOR.full_name} protocol buffer: {e}",
                )
            return await implementation(request, context)

        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            handle, request_deserializer=None, response_serializer=response_class.SerializeToString
        )
    return grpc.method_handlers_generic_handler(service_descriptor.full_name, handlers)


def add_services(server, registry, limits, executor):
    services = (
        (prediction_service_pb2, "PredictionService", PredictionService),
        (model_service_pb2, "ModelService", ModelService),
    )
    for module, name, servicer_class in services:
        descriptor = module.DESCRIPTOR.services_by_name[name]
        servicer = servicer_class(registry, limits, executor)
        server.add_generic_rpc_handlers((_raw_handlers(descriptor, servicer),))


#: Seconds a new gRPC connection has for its TLS and HTTP/2 handshakes.
GRPC_HANDSHAKE_TIMEOUT_SECONDS = 10
#: Shortest interval between a client's keepalive pings (gRPC's default
#: enforcement is 5 minutes, which makes clients configured for shorter ones fail).
GRPC_MIN_PING_INTERVAL_SECONDS = 10


def server_options(options, max_connections):
    """The ``grpc.aio.server`` channel arguments of ``options``
    (:class:`keras_gan.serving.server.ServerOptions`)."""
    return [
        ("grpc.max_receive_message_length", options.max_request_bytes),
        ("grpc.max_send_message_length", -1),
        ("grpc.so_reuseport", 0),
        ("grpc.max_allowed_incoming_connections", int(max_connections)),
        ("grpc.max_concurrent_streams", int(options.grpc_max_concurrent_streams)),
        ("grpc.max_connection_idle_ms", int(options.grpc_max_connection_idle_seconds * 1000)),
        ("grpc.server_handshake_timeout_ms", GRPC_HANDSHAKE_TIMEOUT_SECONDS * 1000),
        # Keepalive: the server pings idle clients (dead peers are dropped),
        # and clients may ping at most every 10 s, even without calls.
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", GRPC_MIN_PING_INTERVAL_SECONDS * 1000),
        ("grpc.http2.max_ping_strikes", 2),
    ]
