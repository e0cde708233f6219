"""Writes the seed corpora of the fuzz targets (fuzz.test) into DIR:

    seeds.py DIR MODELS GMC_TEST_DIR ARTIFACT CHECKPOINT

gm/: every model and every .gm test input; safetensors/: a checkpoint
gmrun wrote and one as PyTorch's safetensors writes it; artifact/: an
artifact's first 4 KB (its ELF headers) and its manifest; idx/: small IDX
files, plain and gzip'ed; npy/: small .npy arrays, C and Fortran order.
"""
import glob, gzip, json, os, shutil, struct, sys

out, models, tests, artifact, checkpoint = sys.argv[1:6]
for d in ["gm", "safetensors", "artifact", "idx", "npy"]:
    os.makedirs(os.path.join(out, d), exist_ok=True)

n = 0
for path in sorted(glob.glob(os.path.join(models, "*", "*.gm")) +
                   glob.glob(os.path.join(tests, "**", "*.gm"), recursive=True)):
    shutil.copy(path, os.path.join(out, "gm", "%03d.gm" % n))
    n += 1

shutil.copy(checkpoint, os.path.join(out, "safetensors", "gm.safetensors"))
header = json.dumps({"__metadata__": {"format": "pt"},
                     "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                     "a.weight": {"dtype": "F32", "shape": [1, 2], "data_offsets": [8, 16]}})
with open(os.path.join(out, "safetensors", "torch.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(header)) + header.encode() + struct.pack("<4f", 1, 2, 3, 4.5))

data = open(artifact, "rb").read()
open(os.path.join(out, "artifact", "elf"), "wb").write(data[:4096])
start = data.find(b'{"format":"gm-manifest"')
end = data.find(b"\0", start)
open(os.path.join(out, "artifact", "manifest"), "wb").write(data[start:end])

images = struct.pack(">IIII", 0x803, 2, 3, 3) + bytes(range(18))
labels = struct.pack(">II", 0x801, 4) + bytes([0, 9, 3, 1])
open(os.path.join(out, "idx", "images"), "wb").write(images)
open(os.path.join(out, "idx", "labels"), "wb").write(labels)
open(os.path.join(out, "idx", "images.gz"), "wb").write(gzip.compress(images))


def npy(name, header, payload):
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(os.path.join(out, "npy", name), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload)


npy("c", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
    struct.pack("<6f", *range(6)))
npy("fortran", "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }",
    struct.pack("<6f", *range(6)))
npy("vector", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
    struct.pack("<4f", *range(4)))
