"""The README's first command on a fresh Debian 12 machine that has only Swift, played by a container.

The machine: Debian bookworm with exactly the packages swift.org's Linux install guide asks for
(no libsqlite3-dev, no libzmq, no pip), made with mmdebstrap; the Swift toolchain and the package
mirror are mounted read-only from this machine, with the same git settings (the mirror's URL
rewrite), and the host's network. Into it goes a fresh clone of this repository, and
`bash scripts/up.sh` runs there until the edge answers and the height grows.

The test command itself is not run there: its container and swarm tests need this machine's Docker
engine, and a second full debug build plus the browser tests would double CI's time.
"""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import ARTIFACTS, REPO, eventually, port_block, http, log, rootfs_image

FRESH = "cairn-test/debian12-swift-only:latest"
# swift.org's "Install Swift on Debian 12" dependencies, as the toolchain's own install asks.
SWIFT_DEPENDENCIES = ["binutils", "git", "gnupg2", "libc6-dev", "libcurl4-openssl-dev", "libedit2", "libgcc-12-dev",
                      "libpython3-dev", "libsqlite3-0", "libstdc++-12-dev", "libxml2-dev", "libncurses-dev", "libz3-dev",
                      "pkg-config", "tzdata", "unzip", "zlib1g-dev", "ca-certificates"]
TOOLCHAIN = os.environ.get("CAIRN_SWIFT_TOOLCHAIN", "/opt/swift")
MIRROR = "/opt/swift-packages"


@pytest.mark.skipif(not os.path.isdir(TOOLCHAIN), reason=f"no Swift toolchain at {TOOLCHAIN} to mount")
def test_readme_first_command_on_a_fresh_machine(engine):
    rootfs_image(engine, FRESH, SWIFT_DEPENDENCIES, variant="minbase")
    work = tempfile.mkdtemp(prefix="cairn-fresh-")
    clone = os.path.join(work, "cairn")
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), clone], check=True, timeout=300)
    base = port_block("ContainerFresh")
    offset = base - 8340
    edge = f"http://127.0.0.1:{base}"
    mounts = ["-v", f"{TOOLCHAIN}:{TOOLCHAIN}:ro", "-v", f"{clone}:/work/cairn"]
    if os.path.isdir(MIRROR):
        mounts += ["-v", f"{MIRROR}:{MIRROR}:ro"]
    for f in ("/etc/gitconfig", "/etc/pip.conf"):
        if os.path.exists(f):
            mounts += ["-v", f"{f}:{f}:ro"]
    name = f"cairn-fresh-{os.getpid()}"
    path = f"{TOOLCHAIN}/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    started = time.monotonic()
    engine.run("run", "-d", "--name", name, "--network", "host", *mounts, "-e", f"PATH={path}",
               "-e", "PIP_CERT=/etc/ssl/certs/ca-certificates.crt", FRESH,
               "bash", "-c", f"cd /work/cairn && exec bash scripts/up.sh --port-offset {offset} --block-interval 1")
    try:
        def answered():
            state = engine.out("inspect", "-f", "{{.State.Status}}", name)
            if state != "running":
                pytest.fail(f"scripts/up.sh stopped ({state}):\n{engine.run('logs', '--tail', '60', name).stdout}"
                            f"{engine.run('logs', '--tail', '60', name).stderr}")
            return http(edge + "/api/blocks/tip/height", timeout=3)[0] == 200
        eventually("the edge of the fresh machine's node", answered, timeout=2400, interval=5)
        up = time.monotonic() - started
        start = int(http(edge + "/api/blocks/tip/height")[1])
        eventually("the height grows", lambda: int(http(edge + "/api/blocks/tip/height")[1]) >= start + 3, timeout=120)
        log(f"fresh machine: scripts/up.sh from a clean clone to a growing chain in {up:.0f} s")
    finally:
        logs = engine.run("logs", name, check=False)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "fresh-machine.log").write_text(logs.stdout + logs.stderr)
        engine.run("stop", "-t", "30", name, check=False, timeout=120)
        engine.run("rm", "-f", name, check=False)
        # The container ran as root in the clone: remove it as root too.
        shutil.rmtree(work, ignore_errors=True)
