"""Making the Docker runner's base image offline, from the Debian mirror apt already uses.

No registry is reachable, so `docker pull` is not an option: the image is a Debian root
file system made by `debootstrap` and imported into the local engine:

    debootstrap --variant=minbase --include=python3,python3-pip,python3-venv bookworm DIR MIRROR
    tar -C DIR -c . | docker import - canalis/base:bookworm-python3

(about 100 s and 290 MB). With a cache folder, the root file system's tarball is kept
there (`<cache>/<name>.tar`, written atomically) and a later call, e.g. on a machine whose
engine lost its images, only imports it. `canalis env base-image` runs this.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

from canalis.executor.envspec import DEFAULT_BASE_IMAGE
from canalis.executor.errors import EnvironmentBuildError
from canalis.executor.runners.docker import client

PACKAGES = ("python3", "python3-pip", "python3-venv")
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def apt_mirror() -> str:
    """The Debian mirror apt is configured with on this machine (deb822 `URIs:` or a one-line
    `deb URL suite` entry), else deb.debian.org."""
    found = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if path.suffix not in (".list", ".sources"):
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found += re.findall(r"^URIs:\s*(\S+)", text, re.M)
        found += re.findall(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.M)
    for url in found:
        if "security" not in url and "debian" in url:
            return url
    return DEFAULT_MIRROR


def _cache_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".tar"


def make_base_image(name: str = DEFAULT_BASE_IMAGE, suite: str = "bookworm", mirror: str | None = None,
                    cache: Path | None = None, force: bool = False,
                    say: Callable[[str], None] = print) -> dict:
    """Import the base image `name` into the local engine (building its root file system
    with debootstrap unless `cache` holds it). Returns {"name", "image_id", "made", "seconds"}:
    `made` is "present" (the engine had it), "cache" (imported from the cached tarball) or
    "debootstrap"."""
    import docker

    c = client()
    t0 = time.monotonic()
    if not force:
        try:
            return {"name": name, "image_id": c.images.get(name).id, "made": "present", "seconds": 0.0}
        except docker.errors.ImageNotFound:
            pass
    tarball = Path(cache) / _cache_name(name) if cache else None
    made = "cache"
    if tarball is None or force or not tarball.is_file():
        made = "debootstrap"
        tarball = _debootstrap(suite, mirror or apt_mirror(), tarball, say)
    say(f"canalis: importing {tarball} as {name}")
    try:
        repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "latest")
        c.api.import_image(src=str(tarball), repository=repository, tag=tag)  # streamed from the file
    except Exception as e:  # noqa: BLE001
        raise EnvironmentBuildError(f"the Docker engine could not import {tarball} as {name}: {e}") from e
    finally:
        if cache is None:
            shutil.rmtree(tarball.parent, ignore_errors=True)
    image_id = c.images.get(name).id
    return {"name": name, "image_id": image_id, "made": made, "seconds": round(time.monotonic() - t0, 1)}


def _debootstrap(suite: str, mirror: str, tarball: Path | None, say) -> Path:
    tool = shutil.which("debootstrap")
    if tool is None:
        raise EnvironmentBuildError("making the base image needs debootstrap, which is not on PATH; "
                                    "`apt-get install debootstrap` (it runs as root)")
    if os.geteuid() != 0:
        raise EnvironmentBuildError("debootstrap makes a root file system and must run as root; run "
                                    "`sudo canalis env base-image` (once per machine)")
    work = Path(tempfile.mkdtemp(prefix="canalis-rootfs-"))
    rootfs = work / "rootfs"
    argv = [tool, "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(rootfs), mirror]
    say("$ " + " ".join(argv))
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        if proc.returncode != 0:
            tail = "\n".join(proc.stdout.splitlines()[-12:])
            raise EnvironmentBuildError(f"debootstrap could not make the {suite} root file system from {mirror}:\n{tail}")
        out = tarball or work / "rootfs.tar"
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
        say(f"$ tar -C {rootfs} -cf {out} .")
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tmp), "."], check=True)
        os.replace(tmp, out)
        return out
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
        if tarball is not None:
            shutil.rmtree(work, ignore_errors=True)
