"""Writes safetensors files by hand for checkpoint.test: one as PyTorch's
safetensors writes it (spaces, its own metadata, tensors out of name order),
and headers gm must reject."""
import struct
import sys


def write(path, header, payload=b""):
    header = header.encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + payload)


out = sys.argv[1]
w = '"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}'
write(out + "/torch.safetensors",
      '{"__metadata__": {"format": "pt"}, "b": {"dtype": "F32", "shape": [2], '
      '"data_offsets": [0, 8]}, "a.weight": {"dtype": "F32", "shape": [1, 2], '
      '"data_offsets": [8, 16]}}    ', struct.pack("<4f", 1, 2, 3, 4.5))
write(out + "/trailing.safetensors", "{" + w + "} x", bytes(4))
write(out + "/twice.safetensors", "{" + w + "," + w + "}", bytes(4))
write(out + "/offsets.safetensors",
      '{"w":{"dtype":"F32","shape":[1],"data_offsets":["0",4]}}', bytes(4))
write(out + "/negative.safetensors",
      '{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', bytes(4))
write(out + "/deep.safetensors", '{"__metadata__":' + "[" * 20 + "]" * 20 + "}")
write(out + "/array.safetensors", "[1, 2]")
