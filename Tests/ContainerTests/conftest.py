"""A real Docker engine for the container, swarm and fresh-machine tests.

- The engine: one that already answers (DOCKER_HOST, or /var/run/docker.sock) is used as it is;
  otherwise Debian's `dockerd` is started as root on folders of its own under /tmp (data root,
  exec root, socket, pidfile) and stopped at the end: only that daemon, by its pidfile.
- Base images: no registry is reachable here, so an image the Dockerfiles name but the engine lacks
  is made locally with `mmdebstrap` and `docker import` under that name (`debian:bookworm-slim`).
  The root file system tarballs are cached under ~/.cache/cairn-tests (CAIRN_TEST_CACHE), keyed by
  their package list, so a second run on the same machine skips the download.
- The Cairn image: docker/Dockerfile's runtime stage, fed with binaries built here by
  docker/prebuild.sh (`--build-arg BINARIES=prebuilt`), since the Swift build stage would need
  to pull swift:6.3-bookworm. BuildKit builds only the stages the target needs.

Only loopback and the engine's own container networks are ever a target: the stacks publish
their ports on 127.0.0.1 and the tests reach them there, or from a container on the stack's network.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "PySupport"))
from cairn_testing import eventually as _eventually, http_json as http, port_block, stop_process  # noqa: E402,F401 - the tests import these from here

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CAIRN_TEST_CACHE", Path.home() / ".cache" / "cairn-tests"))
ARTIFACTS = REPO / ".build" / "test-artifacts" / "containers"
# Debian's docker client (docker.io) drives the daemon's built-in BuildKit without the buildx
# plugin; any other docker client works for everything else.
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else (shutil.which("docker") or "docker")
COMPOSE = shutil.which("docker-compose") or "docker-compose"
MIRROR = os.environ.get("CAIRN_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SECURITY_MIRROR = os.environ.get("CAIRN_DEBIAN_SECURITY_MIRROR", "http://deb.debian.org/debian-security")
# The binaries fed into the image: debug by default (the test command has just built it; only the
# link step differs), CAIRN_IMAGE_CONFIG=release for the shipped optimisation.
IMAGE_CONFIG = os.environ.get("CAIRN_IMAGE_CONFIG", "debug")


def log(*parts):
    print("[containers]", *parts, flush=True)


def eventually(what, check, timeout=90, interval=0.5):
    """The shared polling helper, with the longer defaults containers need."""
    return _eventually(what, check, timeout=timeout, interval=interval)


class Engine:
    def __init__(self, host, owned, root=None, proc=None):
        self.host = host
        self.owned = owned
        self.root = root
        self.proc = proc
        self.env = dict(os.environ, DOCKER_HOST=host, DOCKER_BUILDKIT="1", COMPOSE_DOCKER_CLI_BUILD="1")
        self.swarm_started = False

    def run(self, *args, check=True, timeout=900, input=None, env=None, quiet=False):
        cmd = [DOCKER, *args]
        r = subprocess.run(cmd, env=dict(self.env, **(env or {})), capture_output=True, text=True,
                           timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        if not quiet and r.returncode == 0:
            pass
        return r

    def out(self, *args, **kw):
        return self.run(*args, **kw).stdout.strip()

    def has_image(self, name):
        return self.run("image", "inspect", name, check=False).returncode == 0

    def stop(self):
        if not self.owned:
            return
        if self.swarm_started:
            self.run("swarm", "leave", "--force", check=False, timeout=120)
        log("stopping the engine this run started (pid", self.proc.pid, ")")
        stop_process(self.proc, timeout=60)
        # dockerd unmounts its layers on a clean stop; what it leaves mounted (the swarm's network
        # namespace under exec/netns) is unmounted here, deepest first, then the folder goes.
        with open("/proc/mounts") as f:
            left = [line.split()[1] for line in f if line.split()[1].startswith(self.root + "/")]
        for mount in sorted(left, key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        if os.path.exists(self.root):
            log("could not remove", self.root)


def _answers(host):
    r = subprocess.run([DOCKER, "-H", host, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                       timeout=30)
    return r.returncode == 0


def start_engine():
    for host in (os.environ.get("DOCKER_HOST"), "unix:///var/run/docker.sock"):
        if host and _answers(host):
            log("using the engine that answers at", host)
            return Engine(host, owned=False)
    dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
    if not os.path.exists(dockerd):
        pytest.fail("dockerd is missing: run scripts/install-deps.sh --test (Debian package docker.io)")
    root = tempfile.mkdtemp(prefix="cairn-dockerd-", dir="/tmp")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    logfile = open(ARTIFACTS / "dockerd.log", "w")
    host = f"unix://{root}/docker.sock"
    proc = subprocess.Popen([dockerd, "--data-root", f"{root}/root", "--exec-root", f"{root}/exec", "-H", host,
                             "--pidfile", f"{root}/docker.pid"], stdout=logfile, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dockerd exited ({proc.returncode}); see {ARTIFACTS / 'dockerd.log'}")
        if os.path.exists(f"{root}/docker.sock") and _answers(host):
            log("started dockerd, pid", proc.pid, "at", host)
            return Engine(host, owned=True, root=root, proc=proc)
        time.sleep(0.5)
    proc.kill()
    pytest.fail("dockerd did not answer within 60 s")


@pytest.fixture(scope="session")
def engine():
    e = start_engine()
    try:
        yield e
    finally:
        e.stop()


def rootfs_image(engine, name, packages, variant="minbase"):
    """Makes `name` with mmdebstrap + docker import unless the engine has it (Debian bookworm)."""
    if engine.has_image(name):
        return
    key = hashlib.sha256(f"{name}|{variant}|{' '.join(sorted(packages))}|{MIRROR}".encode()).hexdigest()[:16]
    CACHE.mkdir(parents=True, exist_ok=True)
    tar = CACHE / f"{name.replace('/', '_').replace(':', '_')}-{key}.tar"
    if not tar.exists():
        log(f"making {name} with mmdebstrap ({variant}, {len(packages)} extra packages)")
        started = time.monotonic()
        partial = tar.with_name(tar.stem + ".partial.tar")   # mmdebstrap picks its output format by the suffix
        if partial.is_dir():
            shutil.rmtree(partial)
        cmd = ["mmdebstrap", f"--variant={variant}", "--quiet"]
        if packages:
            cmd.append("--include=" + ",".join(packages))
        cmd += ["bookworm", str(partial), f"deb {MIRROR} bookworm main", f"deb {MIRROR} bookworm-updates main",
                f"deb {SECURITY_MIRROR} bookworm-security main"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            pytest.fail(f"mmdebstrap failed:\n{r.stderr[-3000:]}")
        partial.rename(tar)
        log(f"{name}: root file system made in {time.monotonic() - started:.0f} s")
    engine.run("import", str(tar), name, timeout=600)


@pytest.fixture(scope="session")
def base_image(engine):
    """debian:bookworm-slim, the runtime stage's base (and the load balancer's)."""
    rootfs_image(engine, "debian:bookworm-slim", [])
    return "debian:bookworm-slim"


@pytest.fixture(scope="session")
def cairn_image(engine, base_image):
    """cairn:latest from docker/Dockerfile's runtime stage, with binaries built here."""
    started = time.monotonic()
    r = subprocess.run(["bash", "docker/prebuild.sh"], cwd=REPO, env=dict(os.environ, CONFIG=IMAGE_CONFIG),
                       capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        pytest.fail(f"docker/prebuild.sh failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    built = time.monotonic()
    engine.run("build", "-f", "docker/Dockerfile", "--build-arg", "BINARIES=prebuilt", "-t", "cairn:latest", str(REPO),
               timeout=1800)
    log(f"cairn:latest: binaries ({IMAGE_CONFIG}) {built - started:.0f} s, image {time.monotonic() - built:.0f} s")
    return "cairn:latest"


def cairn_bin():
    """The host's `cairn` (the debug build the test command made)."""
    path = Path(os.environ.get("CAIRN_BIN", REPO / ".build" / "debug")) / "cairn"
    if not path.exists():
        pytest.fail(f"{path} is missing: build first (swift build --build-tests)")
    return str(path)


def make_wallet(folder, password="container-tests"):
    """A CLI keystore; returns (path, address)."""
    path = os.path.join(folder, "wallet.json")
    env = dict(os.environ, CAIRN_WALLET_PASSWORD=password)
    r = subprocess.run([cairn_bin(), "wallet", "new", "--keystore", path], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    address = subprocess.run([cairn_bin(), "wallet", "address", "--keystore", path], env=env, capture_output=True,
                             text=True, timeout=60).stdout.strip()
    assert address.startswith("rcrn1"), address
    return path, address


def wallet_send(keystore, to, amount, edge, password="container-tests", timeout=60):
    """`cairn wallet send` through `edge`; returns (returncode, stdout+stderr, txid or None)."""
    env = dict(os.environ, CAIRN_WALLET_PASSWORD=password)
    r = subprocess.run([cairn_bin(), "wallet", "send", "--keystore", keystore, "--to", to, "--amount", str(amount),
                        "--edge", edge], env=env, capture_output=True, text=True, timeout=timeout)
    text = r.stdout + r.stderr
    txid = next((w for w in text.replace(":", " ").split() if len(w) == 64 and all(c in "0123456789abcdef" for c in w)),
                None)
    return r.returncode, text, txid
