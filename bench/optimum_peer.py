"""The peer the scan is measured against: optimum's duplicate-weight detection.

optimum's `remove_duplicate_weights` (optimum/onnx/transformations_utils.py)
loads the whole model with `onnx.load`, converts every initializer with
`numpy_helper.to_array`, keys it by a sha512 of its bytes together with its
dtype and dims, and groups equal keys; tied embeddings stored transposed are
found by comparing 2-D initializers whose shapes are swapped. This script does
the same detection (not the rewrite) and prints what it found, so the figures
compare like with like. Run with Debian's /usr/bin/python3 (python3-onnx,
python3-numpy).
"""
import hashlib
import json
import sys
from collections import defaultdict

import numpy as np
import onnx
from onnx import numpy_helper


def main(path: str) -> None:
    model = onnx.load(path)
    arrays = {}
    by_key = defaultdict(list)
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init)
        arrays[init.name] = array
        key = (hashlib.sha512(array.tobytes()).hexdigest(), init.data_type, tuple(init.dims))
        by_key[key].append(init.name)
    exact = [names for names in by_key.values() if len(names) > 1]

    transposed = []
    two_d = [(n, a) for n, a in arrays.items() if a.ndim == 2]
    for i, (name_a, a) in enumerate(two_d):
        for name_b, b in two_d[i + 1:]:
            if a.shape == b.shape[::-1] and a.shape != b.shape and a.dtype == b.dtype and np.array_equal(a, b.T):
                transposed.append([name_a, name_b])

    print(json.dumps({"initializers": len(arrays), "exact_groups": exact, "transposed_pairs": transposed}))


if __name__ == "__main__":
    main(sys.argv[1])
