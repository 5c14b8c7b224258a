#!/usr/bin/env python3
"""The layers bench's peer: what a numpy user would write to get the same
matrices as `weight-sharing layers MODEL --json`.

Families: float tensors whose names hold a block index (the first all-digit
path segment between '.' or '/' separators, neither first nor last), grouped
by (what comes before, what comes after, dtype, shape), two or more blocks.
For each family, rel L2 ||a-b|| / max(||a||, ||b||) and the Pearson
correlation of every pair, in float64, from a Gram matrix accumulated over
column chunks (X_chunk @ X_chunk.T), so memory stays bounded.

Reads .safetensors (header JSON, np.memmap) and .onnx (a minimal protobuf
walk for initializers with raw_data or external data; no onnx package needed).

usage: layers_peer.py MODEL [--json]   (prints {"families": [...]} as JSON)
"""
import json
import mmap
import re
import struct
import sys

import numpy as np

CHUNK_BYTES = 32 << 20

ST_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "BF16": "bf16"}
ONNX_DTYPES = {1: np.float32, 10: np.float16, 11: np.float64, 16: "bf16"}


def as_float64(raw, dtype):
    """raw: a 1-d uint8 array of little-endian values; returns float64."""
    if dtype == "bf16":
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).astype(np.float64)
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(np.float64)


def safetensors_tensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    for name, e in header.items():
        if name == "__metadata__" or e["dtype"] not in ST_DTYPES:
            continue
        b, end = e["data_offsets"]
        yield name, ST_DTYPES[e["dtype"]], tuple(e["shape"]), data[b:end]


def varint(buf, i):
    shift = result = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, i
        shift += 7


def fields(buf, start, end):
    """(field number, wire type, value or (start, end) of a length-delimited payload)."""
    i = start
    while i < end:
        tag, i = varint(buf, i)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 1:
            value, i = None, i + 8
        elif wire == 5:
            value, i = None, i + 4
        elif wire == 2:
            length, i = varint(buf, i)
            value, i = (i, i + length), i + length
        else:
            raise ValueError(f"wire type {wire} at byte {i}")
        yield field, wire, value


def onnx_tensors(path):
    import os
    folder = os.path.dirname(os.path.abspath(path))
    external_files = {}
    f = open(path, "rb")
    buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    arr = np.frombuffer(buf, dtype=np.uint8)
    for field, _, graph in fields(buf, 0, len(buf)):
        if field != 7:
            continue
        for gfield, _, init in fields(buf, *graph):
            if gfield != 5:
                continue
            name, dims, dtype, raw, external = "", [], None, None, {}
            for tfield, wire, v in fields(buf, *init):
                if tfield == 1 and wire == 0:
                    dims.append(v)
                elif tfield == 1 and wire == 2:
                    j = v[0]
                    while j < v[1]:
                        d, j = varint(buf, j)
                        dims.append(d)
                elif tfield == 2:
                    dtype = v
                elif tfield == 8:
                    name = bytes(buf[v[0]:v[1]]).decode("utf-8")
                elif tfield == 9:
                    raw = v
                elif tfield == 13:
                    entry = {k: bytes(buf[e[0]:e[1]]).decode("utf-8") for k, _, e in fields(buf, *v)}
                    external[entry.get(1, "")] = entry.get(2, "")
            if dtype not in ONNX_DTYPES:
                continue
            if raw is not None:
                yield name, ONNX_DTYPES[dtype], tuple(dims), arr[raw[0]:raw[1]]
            elif "location" in external:
                loc = os.path.join(folder, external["location"])
                if loc not in external_files:
                    external_files[loc] = np.memmap(loc, dtype=np.uint8, mode="r")
                start = int(external.get("offset", "0"))
                length = int(external["length"]) if "length" in external else external_files[loc].size - start
                yield name, ONNX_DTYPES[dtype], tuple(dims), external_files[loc][start:start + length]


def block_of(name):
    parts = re.split(r"([./])", name)
    for i in range(0, len(parts), 2):
        if parts[i].isdigit() and 0 < i < len(parts) - 1 and parts[i].isascii():
            return "".join(parts[: i - 1]), int(parts[i]), "".join(parts[i + 2:])
    return None


def families(tensors):
    groups = {}
    for name, dtype, shape, raw in tensors:
        b = block_of(name)
        count = int(np.prod(shape)) if shape else 1
        if b is None or b[2] == "" or count < 2:
            continue
        groups.setdefault((b[0], b[2], str(dtype), shape), []).append((b[1], name, dtype, raw))
    for (stack, role, _, shape), members in groups.items():
        seen, kept = set(), []
        for m in sorted(members, key=lambda m: m[0]):
            if m[0] not in seen:
                seen.add(m[0])
                kept.append(m)
        if len(kept) >= 2:
            yield stack, role, shape, kept


def matrices(members):
    n = len(members)
    es = 2 if members[0][2] in (np.float16, "bf16") else np.dtype(members[0][2]).itemsize
    count = members[0][3].size // es
    step = max(1024, CHUNK_BYTES // (n * 8))
    gram = np.zeros((n, n))
    sums = np.zeros(n)
    for at in range(0, count, step):
        k = min(step, count - at)
        x = np.stack([as_float64(m[3][at * es:(at + k) * es], m[2]) for m in members])
        gram += x @ x.T
        sums += x.sum(axis=1)
    sq = np.diag(gram).copy()
    d2 = np.maximum(0, sq[:, None] + sq[None, :] - 2 * gram)
    norm = np.sqrt(np.maximum(sq[:, None], sq[None, :]))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(norm > 0, np.sqrt(d2) / norm, 0.0)
        mean = sums / count
        var = sq - count * mean * mean
        cov = gram - count * np.outer(mean, mean)
        cos = cov / np.sqrt(np.outer(var, var))
    np.fill_diagonal(rel, 0)
    np.fill_diagonal(cos, 1)
    return rel, cos


def main():
    path = sys.argv[1]
    tensors = onnx_tensors(path) if path.endswith(".onnx") else safetensors_tensors(path)
    out = []
    for stack, role, shape, members in families(list(tensors)):
        rel, cos = matrices(members)
        out.append({
            "role": role, "stack": stack, "shape": list(shape),
            "members": [m[1] for m in members],
            "relL2": rel.tolist(),
            "centredCosine": [[None if np.isnan(v) else v for v in row] for row in cos.tolist()],
        })
    json.dump({"families": out}, sys.stdout)


if __name__ == "__main__":
    main()
