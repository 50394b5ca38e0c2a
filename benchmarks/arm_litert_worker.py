"""LiteRT worker for bench_arm_emulated.py: runs INSIDE the emulated aarch64 Python (qemu-aarch64), so it may import
only numpy and ai-edge-litert (the aarch64 wheels benchmarks/arm_emulation_setup.sh unpacks), never pocketbert.

Protocol on stdin/stdout, one request at a time: 8-byte little-endian length + an .npz holding `__signature__`
(the LiteRT signature name) and the signature's input tensors; the answer is 8-byte length + an .npz of the
signature's outputs. EOF on stdin ends the worker.
"""
import io
import struct
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def main() -> None:
    path, threads = sys.argv[1], int(sys.argv[2])
    interpreter = Interpreter(model_path=path, num_threads=threads)  # XNNPACK applied by default, as on the phone
    runners = {}
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = inp.read(8)
        if len(head) < 8:
            return
        (size,) = struct.unpack("<Q", head)
        request = np.load(io.BytesIO(inp.read(size)))
        signature = str(request["__signature__"])
        if signature not in runners:
            runners[signature] = interpreter.get_signature_runner(signature)
        feeds = {k: request[k] for k in request.files if k != "__signature__"}
        result = runners[signature](**feeds)
        buf = io.BytesIO()
        np.savez(buf, **{k: np.asarray(v) for k, v in result.items()})
        data = buf.getvalue()
        out.write(struct.pack("<Q", len(data)))
        out.write(data)
        out.flush()


if __name__ == "__main__":
    main()
