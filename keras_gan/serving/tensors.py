"""Request and response tensors: JSON values and ``TensorProto`` <-> NumPy.

Every conversion checks the input against the signature *before* allocating
anything proportional to a claimed size: a ``TensorProto`` that says
``[10**12, 100]`` is refused from its shape alone, and a JSON value that is not
a rectangular list of numbers of the right kind is refused with a message
naming the input, the expected dtype/shape and what was received.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

from keras_gan.serving.errors import invalid

DT = types_pb2.DataType

#: dtype enum -> (NumPy dtype, TensorProto value field) of the supported dtypes.
_DTYPES = {
    types_pb2.DT_FLOAT: (np.dtype(np.float32), "float_val"),
    types_pb2.DT_DOUBLE: (np.dtype(np.float64), "double_val"),
    types_pb2.DT_INT8: (np.dtype(np.int8), "int_val"),
    types_pb2.DT_INT16: (np.dtype(np.int16), "int_val"),
    types_pb2.DT_INT32: (np.dtype(np.int32), "int_val"),
    types_pb2.DT_INT64: (np.dtype(np.int64), "int64_val"),
    types_pb2.DT_UINT8: (np.dtype(np.uint8), "int_val"),
    types_pb2.DT_UINT16: (np.dtype(np.uint16), "int_val"),
    types_pb2.DT_BOOL: (np.dtype(np.bool_), "bool_val"),
}
_MAX_ELEMENTS_PER_ROW = 1 << 20
_ENUM_OF_NUMPY = {np_dtype: enum for enum, (np_dtype, _) in _DTYPES.items()}


def dtype_name(enum):
    """``DT_FLOAT`` for the enum value (``DT_<n>`` for an unknown number)."""
    try:
        return DT.Name(enum)
    except ValueError:
        return f"DT_<{enum}>"


def numpy_name(enum):
    np_dtype = _DTYPES.get(enum, (None,))[0]
    return np_dtype.name if np_dtype is not None else dtype_name(enum)


@dataclass(frozen=True)
class TensorSpec:
    """An input or output of a signature: name, dtype enum, shape (``None`` dims
    are free; ``shape is None`` means unknown rank)."""

    name: str
    dtype: int
    shape: tuple | None

    @classmethod
    def from_tensor_info(cls, name, info):
        if info.tensor_shape.unknown_rank:
            shape = None
        else:
            shape = tuple(None if d.size < 0 else int(d.size) for d in info.tensor_shape.dim)
        return cls(name, int(info.dtype), shape)

    @property
    def np_dtype(self):
        return _DTYPES[self.dtype][0] if self.dtype in _DTYPES else None

    def describe(self):
        if self.shape is None:
            shape = "any shape"
        elif not self.shape:
            shape = "a scalar"
        else:
            dims = [
                "batch" if d is None and i == 0 else ("?" if d is None else str(d))
                for i, d in enumerate(self.shape)
            ]
            shape = "shape [" + ", ".join(dims) + "]"
        return f"{numpy_name(self.dtype)}, {shape}"


def check_shape(spec, shape, max_batch):
    """Raise INVALID_ARGUMENT unless ``shape`` fits ``spec``; a free leading
    (batch) dimension must be in ``[1, max_batch]``."""
    shape = tuple(int(d) for d in shape)
    if spec.shape is None:  # unknown rank (not in exported generators): bound the size
        if math.prod(shape) > max_batch * _MAX_ELEMENTS_PER_ROW:
            raise invalid(
                f"input {spec.name!r} is too large: shape {list(shape)} has more than "
                f"{max_batch * _MAX_ELEMENTS_PER_ROW} elements."
            )
        return shape
    if len(shape) != len(spec.shape):
        what = "a scalar" if not shape else f"shape {list(shape)}"
        hint = ""
        if not spec.shape and len(shape) == 1:
            hint = (
                " (the row format, 'instances', adds a batch dimension to every input; "
                "send scalar inputs with the columnar format, 'inputs')"
            )
        raise invalid(f"input {spec.name!r} must be {spec.describe()}; got {what}{hint}.")
    for i, (got, want) in enumerate(zip(shape, spec.shape)):
        if want is None:
            if got < 1:
                raise invalid(
                    f"input {spec.name!r} ({spec.describe()}) must have at least one entry "
                    f"along dimension {i}; got shape {list(shape)}."
                )
            if got > max_batch:
                raise invalid(
                    f"input {spec.name!r} has {got} entries along dimension {i}; this server "
                    f"allows at most {max_batch} per request (--max_num_samples)."
                )
        elif got != want:
            raise invalid(
                f"input {spec.name!r} must be {spec.describe()}; got shape {list(shape)}."
            )
    return shape


def _check_values(spec, array):
    """Finite floats and in-range integers, or INVALID_ARGUMENT."""
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise invalid(
                f"input {spec.name!r} must be finite; it has NaN or Inf "
                f"(or numbers beyond {numpy_name(spec.dtype)})."
            )
    return array


# ------------------------------------------------------------------- JSON
_KIND_NAMES = {"b": "booleans", "U": "strings", "S": "bytes", "O": "non-numeric values"}


def json_to_array(spec, value, max_batch):
    """A JSON value (nested lists of numbers) as an array of ``spec``'s dtype."""
    np_dtype = spec.np_dtype
    if np_dtype is None:
        raise invalid(
            f"input {spec.name!r} has dtype {dtype_name(spec.dtype)}, which this server does "
            "not decode from JSON."
        )
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError):
        raise invalid(
            f"input {spec.name!r} must be a rectangular (nested) list of numbers "
            f"({spec.describe()}); the lists have different lengths or hold other values."
        ) from None
    kind = array.dtype.kind
    allowed = "b" if np_dtype.kind == "b" else ("iuf" if np_dtype.kind == "f" else "iu")
    if kind not in allowed:
        if kind == "O" and np_dtype.kind in "iu" and _all_ints(value):
            raise invalid(
                f"input {spec.name!r} holds an integer out of the range of "
                f"{numpy_name(spec.dtype)}."
            )
        got = _KIND_NAMES.get(kind, "floating-point numbers" if kind == "f" else kind)
        if kind == "O" and not array.shape:
            got = f"a {type(value).__name__}"
        want = {"b": "booleans", "f": "numbers", "i": "integers", "u": "integers"}[np_dtype.kind]
        raise invalid(f"input {spec.name!r} must hold {want} ({spec.describe()}); got {got}.")
    check_shape(spec, array.shape, max_batch)
    if np_dtype.kind in "iu" and array.size:
        info = np.iinfo(np_dtype)
        if array.min() < info.min or array.max() > info.max:
            raise invalid(
                f"input {spec.name!r} holds an integer out of the range of "
                f"{numpy_name(spec.dtype)} [{info.min}, {info.max}]."
            )
    with np.errstate(over="ignore", invalid="ignore"):
        array = array.astype(np_dtype, copy=False)
    return _check_values(spec, array)


def _all_ints(value, depth=0):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, list) and depth < 64:
        return all(_all_ints(v, depth + 1) for v in value)
    return False


def array_to_json(array):
    """Nested lists for a JSON response (NaN/Infinity tokens as TF Serving writes)."""
    return np.asarray(array).tolist()


# ------------------------------------------------------------------- protos
def tensor_proto_to_array(spec, proto, max_batch):
    """A request ``TensorProto`` as an array, checked against ``spec``."""
    if proto.dtype != spec.dtype:
        raise invalid(
            f"input {spec.name!r} must be {dtype_name(spec.dtype)} ({spec.describe()}); got "
            f"{dtype_name(proto.dtype)}."
        )
    if spec.dtype not in _DTYPES:
        raise invalid(f"input {spec.name!r}: dtype {dtype_name(spec.dtype)} is not supported.")
    if proto.tensor_shape.unknown_rank:
        raise invalid(f"input {spec.name!r} must have a known shape ({spec.describe()}).")
    dims = [d.size for d in proto.tensor_shape.dim]
    if any(d < 0 for d in dims):
        raise invalid(f"input {spec.name!r} has a negative dimension: {dims}.")
    shape = check_shape(spec, dims, max_batch)
    np_dtype, field = _DTYPES[spec.dtype]
    n = math.prod(shape)
    if proto.tensor_content:
        expected = n * np_dtype.itemsize
        if len(proto.tensor_content) != expected:
            raise invalid(
                f"input {spec.name!r}: tensor_content has {len(proto.tensor_content)} bytes; "
                f"shape {list(shape)} of {numpy_name(spec.dtype)} needs {expected}."
            )
        array = np.frombuffer(proto.tensor_content, dtype=np_dtype.newbyteorder("<"))
        array = array.astype(np_dtype).reshape(shape)
    else:
        values = getattr(proto, field)
        if len(values) > n:
            raise invalid(
                f"input {spec.name!r}: {len(values)} values for shape {list(shape)} ({n} elements)."
            )
        if len(values) == n:
            array = np.asarray(values, dtype=np_dtype).reshape(shape)
        else:  # TF's rule: the last value is repeated (zeros when there is none)
            fill = values[-1] if len(values) else 0
            array = np.full(shape, fill, dtype=np_dtype)
            array.reshape(-1)[: len(values)] = np.asarray(values, dtype=np_dtype)
    return _check_values(spec, array)


def array_to_tensor_proto(array):
    """A ``TensorProto`` of a NumPy array (raw little-endian ``tensor_content``;
    ``string_val`` for strings, e.g. PNG images)."""
    array = np.asarray(array)
    if array.dtype.kind in "OSU":
        return tensor_pb2.TensorProto(
            dtype=types_pb2.DT_STRING,
            tensor_shape=tensor_shape_pb2.TensorShapeProto(
                dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=int(d)) for d in array.shape]
            ),
            string_val=[_as_bytes(v) for v in array.reshape(-1)],
        )
    if array.dtype not in _ENUM_OF_NUMPY:
        raise TypeError(f"unsupported dtype {array.dtype} for a TensorProto")
    shape = tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=int(d)) for d in array.shape]
    )
    return tensor_pb2.TensorProto(
        dtype=_ENUM_OF_NUMPY[array.dtype],
        tensor_shape=shape,
        tensor_content=np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes(),
    )


def _as_bytes(value):
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def strings_to_json(name, array):
    """A string output for a REST answer, as TF Serving writes it: nested lists
    of ``{"b64": ...}`` for outputs named ``*_bytes`` (binary, e.g. PNG), of
    UTF-8 text otherwise."""
    import base64

    if name.endswith("_bytes"):
        encode = lambda v: {"b64": base64.b64encode(_as_bytes(v)).decode("ascii")}  # noqa: E731
    else:
        encode = lambda v: _as_bytes(v).decode("utf-8", errors="replace")  # noqa: E731
    array = np.asarray(array, dtype=object)
    flat = [encode(v) for v in array.reshape(-1)]
    return np.array(flat + [None], dtype=object)[:-1].reshape(array.shape).tolist()


def decode_tensor_proto(proto):
    """Any supported ``TensorProto`` as an array (client side: trusts the server;
    DT_STRING as an object array of bytes)."""
    if proto.dtype == types_pb2.DT_STRING:
        shape = [d.size for d in proto.tensor_shape.dim]
        return np.array(list(proto.string_val) + [None], dtype=object)[:-1].reshape(shape)
    if proto.dtype not in _DTYPES:
        raise TypeError(f"unsupported dtype {dtype_name(proto.dtype)} in a response")
    np_dtype, field = _DTYPES[proto.dtype]
    shape = [d.size for d in proto.tensor_shape.dim]
    if proto.tensor_content:
        return (
            np.frombuffer(proto.tensor_content, dtype=np_dtype.newbyteorder("<"))
            .astype(np_dtype)
            .reshape(shape)
        )
    values = np.asarray(getattr(proto, field), dtype=np_dtype)
    n = math.prod(shape)
    if values.size == n:
        return values.reshape(shape)
    out = np.full(shape, values[-1] if values.size else 0, dtype=np_dtype)
    out.reshape(-1)[: values.size] = values
    return out
