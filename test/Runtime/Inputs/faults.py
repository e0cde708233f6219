"""Fault injection for gmrun train (faults.test).

    faults.py GMRUN ARTIFACT DATA.npy WORKDIR [--kills N]

kill-loop   N SIGKILLs at random moments of a short run that checkpoints
            every step, each followed by --resume; then a last --resume to
            the end. The final tensors must equal an uninterrupted run's.
full-disk   the checkpoint's temporary file is a link to /dev/full, so the
            write fails with ENOSPC as on a full disk (no mount needed): a
            clear error, and the previous checkpoint intact.
read-only   an output folder gmrun may not write to (as root, the run drops
            to user nobody: root ignores permissions): a clear error.

Prints one line per check; exits 1 on the first failure.
"""
import json, os, random, shutil, signal, struct, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from same_tensors import tensors  # noqa: E402


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def checkpoint_step(path):
    """The step a checkpoint records; None when there is none yet."""
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        return None
    (n,) = struct.unpack("<Q", data[:8])
    return int(json.loads(data[8:8 + n])["__metadata__"]["step"])


def main():
    gmrun, artifact, data, work = sys.argv[1:5]
    kills = int(sys.argv[sys.argv.index("--kills") + 1]) if "--kills" in sys.argv else 100
    os.makedirs(work, exist_ok=True)
    train = [gmrun, "train", artifact, "--data", data, "--batch", "16", "--steps", "300",
             "--checkpoint-every", "1", "--quiet"]

    # The reference: one uninterrupted run.
    ref = os.path.join(work, "ref")
    subprocess.run(train + ["--out", ref], check=True, capture_output=True)

    # The kill loop. Random moments across the whole run: before the data
    # is read, mid-step, mid-checkpoint.
    rng = random.Random(1)
    out = os.path.join(work, "killed")
    finished_early = 0
    steps = set()  # the checkpoint's step after each kill: the kills land across the run
    for _ in range(kills):
        p = subprocess.Popen(train + ["--out", out, "--resume"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, 0.15))
        if p.poll() is not None:
            finished_early += 1  # ran to the end before its kill: restart from scratch
            shutil.rmtree(out)
            continue
        p.send_signal(signal.SIGKILL)
        p.wait()
        steps.add(checkpoint_step(os.path.join(out, "checkpoint.safetensors")))
    last = subprocess.run(train + ["--out", out, "--resume"], capture_output=True, text=True)
    if last.returncode:
        fail("kill-loop: the last resume failed:\n" + last.stderr)
    a = tensors(os.path.join(ref, "checkpoint.safetensors"))
    b = tensors(os.path.join(out, "checkpoint.safetensors"))
    if a != b:
        differ = sorted(k for k in a if a.get(k) != b.get(k))
        fail("kill-loop: after %d kills the tensors differ from an uninterrupted run: %s"
             % (kills, ", ".join(differ[:5])))
    print("ok kill-loop: %d SIGKILLs then --resume: identical %d tensors" % (kills, len(a)))
    print("kill-loop: the kills left checkpoints at %d different steps; %d runs finished "
          "before their kill" % (len(steps - {None}), finished_early))

    # A full disk while the checkpoint is written.
    full = os.path.join(work, "full")
    subprocess.run(train[:8] + ["4", "--checkpoint-every", "2", "--quiet", "--out", full],
                   check=True, capture_output=True)
    before = open(os.path.join(full, "checkpoint.safetensors"), "rb").read()
    os.symlink("/dev/full", os.path.join(full, "checkpoint.safetensors.tmp"))
    r = subprocess.run(train + ["--out", full, "--resume"], capture_output=True, text=True)
    after = open(os.path.join(full, "checkpoint.safetensors"), "rb").read()
    if r.returncode == 0 or "No space left on device" not in r.stderr:
        fail("full-disk: expected a 'No space left on device' error, got exit %d:\n%s"
             % (r.returncode, r.stderr))
    if after != before:
        fail("full-disk: the previous checkpoint changed")
    print("ok full-disk: " + r.stderr.strip().splitlines()[-1])
    print("ok full-disk: the previous checkpoint is intact")

    # A read-only output folder.
    ro = os.path.join(work, "readonly")
    os.makedirs(ro, exist_ok=True)
    os.chmod(ro, 0o555)
    cmd = train + ["--out", ro]
    if os.geteuid() == 0:
        # nobody must reach gmrun, the artifact and the data: world-readable
        # copies in a fresh folder under /tmp (WORKDIR's parents may be
        # closed to others).
        shared = tempfile.mkdtemp(prefix="gm-faults-")
        os.chmod(shared, 0o755)
        for f in (gmrun, artifact, data):
            shutil.copy(f, shared)
        ro = os.path.join(shared, "readonly")
        os.makedirs(ro)
        os.chmod(ro, 0o555)
        local = lambda f: os.path.join(shared, os.path.basename(f))
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", local(gmrun),
               "train", local(artifact), "--data", local(data)] + train[5:] + ["--out", ro]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if os.geteuid() == 0:
        shutil.rmtree(shared)
    if r.returncode == 0 or "Permission denied" not in r.stderr:
        fail("read-only: expected a 'Permission denied' error, got exit %d:\n%s"
             % (r.returncode, r.stderr))
    print("ok read-only: " + r.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
