"""The peer `weight-sharing scan` is measured against on safetensors files.

This is the script a user would write to find duplicated tensors in a
.safetensors checkpoint with nothing but the standard library and numpy:
read the 8-byte little-endian header length and the JSON header,
`numpy.memmap` the file, take a sha256 of each tensor's bytes (a slice of the
memmap, so nothing is copied), group tensors by (dtype, shape, digest), and
print the groups with more than one member. The last line of stdout is a JSON
summary the bench parses. Any Python 3 with numpy will do.

Note for peak RSS: the pages of the memmap that the hashing touches count as
resident for as long as they stay mapped, so on a warm page cache the peak
RSS of this script approaches the size of the file.
"""
import hashlib
import json
import struct
import sys
from collections import defaultdict

import numpy as np


def main(path: str) -> None:
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
    metadata = header.pop("__metadata__", None)
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_len)

    groups = defaultdict(list)
    hashed = 0
    for name, info in header.items():
        begin, end = info["data_offsets"]
        digest = hashlib.sha256(data[begin:end]).hexdigest()
        groups[(info["dtype"], tuple(info["shape"]), digest, end - begin)].append(name)
        hashed += end - begin

    duplicates = []
    for (dtype, shape, digest, nbytes), names in groups.items():
        if len(names) < 2:
            continue
        names.sort()
        duplicates.append({"dtype": dtype, "shape": list(shape), "sha256": digest, "bytes": nbytes, "names": names})
    duplicates.sort(key=lambda g: g["names"])

    for g in duplicates:
        print(f"duplicate {g['dtype']} {g['shape']} sha256 {g['sha256'][:16]}: {', '.join(g['names'])}")
    print(json.dumps({
        "tensors": len(header),
        "metadata": metadata,
        "bytes_hashed": hashed,
        "duplicate_groups": [g["names"] for g in duplicates],
        "bytes_saved": sum(g["bytes"] * (len(g["names"]) - 1) for g in duplicates),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
