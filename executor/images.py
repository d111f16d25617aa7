"""Docker images of materialised environments, one per digest: `canalis/env:<digest[:32]>`.

The image is `docker.base_image` (which must already be in the local engine: no registry is
reachable offline; `canalis env base-image` makes one, docs/environments.md) plus, when the
environment lists pip packages, a virtual environment `/opt/canalis-env` with them
installed by pip with the environment's pip options. A `--find-links=DIR` wheelhouse is
copied into the build context, so an offline build needs nothing but the engine. The build
runs with no network unless the environment sets `docker.network`. It is built once under
the digest's lock (like a virtual environment, executor/venvs.py) and reused while the
engine has the tag; what it holds (executor/freeze.py, run once in a container) is kept in
`.canalis/envs/<digest>.image.json`.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

from canalis.executor import freeze
from canalis.executor.envspec import EnvSpec
from canalis.executor.errors import EnvironmentBuildError
from canalis.executor.locks import single_flight
from canalis.executor.runners.docker import client
from canalis.executor.venvs import Materialized, build_failure

ENV_PYTHON = "/opt/canalis-env/bin/python"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
BASE_PYTHON = "python3"


def image_tag(spec: EnvSpec) -> str:
    return f"canalis/env:{spec.digest[:32]}"


def ensure_image(spec: EnvSpec, envs_dir: Path, locks_dir: Path, say: Callable[[str], None]) -> Materialized:
    """The image of `spec`'s digest, built if the engine does not have it yet."""
    import docker

    c = client()
    try:
        base = c.images.get(spec.base_image)
    except docker.errors.ImageNotFound:
        raise EnvironmentBuildError(
            f"{spec.label()} is built on the base image {spec.base_image!r}, which the local Docker engine does "
            "not have (no registry is reachable offline); make it with `canalis env base-image` "
            "(debootstrap, docs/environments.md) or `docker load` it") from None
    tag = image_tag(spec) if spec.has_packages else spec.base_image
    python = ENV_PYTHON if spec.has_packages else BASE_PYTHON
    record = Path(envs_dir) / f"{spec.digest}.image.json"
    with single_flight(locks_dir, f"env-{spec.digest}"):
        try:
            image = c.images.get(tag)
            known = json.loads(record.read_text(encoding="utf-8"))
            if known.get("image_id") == image.id:
                return Materialized("image", tag, python, tuple(known["packages"]), dict(known["interpreter"]),
                                    built=False, image_id=image.id, base_image=spec.base_image, base_image_id=base.id)
        except (docker.errors.ImageNotFound, OSError, ValueError, KeyError):
            pass  # no image, or no readable record of what it holds: (re)build it below
        t0 = time.monotonic()
        built = False
        if spec.has_packages:
            if spec.conda:
                raise EnvironmentBuildError(f"{spec.label()} lists conda packages ({', '.join(spec.conda)}); the Docker "
                                            "runner installs pip packages only: list them as pip packages")
            image = _build(c, spec, tag, say)
            built = True
        else:
            image = base
        out = _freeze(c, image.id, python)
        packages, interpreter = freeze.parse(out)
        Path(envs_dir).mkdir(parents=True, exist_ok=True)
        tmp = record.with_suffix(".tmp")
        tmp.write_text(json.dumps({"image_id": image.id, "packages": packages, "interpreter": interpreter}),
                       encoding="utf-8")
        os.replace(tmp, record)
        return Materialized("image", tag, python, tuple(packages), interpreter, built=built,
                            duration_s=round(time.monotonic() - t0, 3), image_id=image.id,
                            base_image=spec.base_image, base_image_id=base.id)


def _build(c, spec: EnvSpec, tag: str, say) -> object:
    say(f"canalis: building image {tag} for {spec.label()} from {spec.base_image}")
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="canalis-image-") as ctx:
        options = []
        for n, option in enumerate(spec.pip_options):
            words = shlex.split(option)
            out = []
            for i, w in enumerate(words):
                if w.startswith("--find-links=") or w.startswith("-f") and len(w) > 2:
                    folder = w.split("=", 1)[1] if "=" in w else w[2:]
                    out.append(f"--find-links=/canalis-wheels/{n}")
                    _copy_wheels(folder, Path(ctx) / "wheels" / str(n))
                elif i > 0 and words[i - 1] in ("--find-links", "-f"):
                    out[-1:] = [f"--find-links=/canalis-wheels/{n}"]
                    _copy_wheels(w, Path(ctx) / "wheels" / str(n))
                else:
                    out.append(w)
            options += out
        (Path(ctx) / "wheels").mkdir(exist_ok=True)
        pip = " ".join(shlex.quote(w) for w in ["/opt/canalis-env/bin/pip", "install", "--disable-pip-version-check",
                                                 "--no-input", *options, *spec.pip])
        (Path(ctx) / "Dockerfile").write_text(
            f"FROM {spec.base_image}\nCOPY wheels /canalis-wheels\n"
            f"RUN python3 -m venv /opt/canalis-env && {pip}\n", encoding="utf-8")
        try:
            for chunk in c.api.build(path=ctx, tag=tag, rm=True, forcerm=True, decode=True,
                                     network_mode=spec.network or "none", labels={"canalis.digest": spec.digest}):
                for line in _ANSI.sub("", chunk.get("stream") or "").splitlines():  # the engine colours stderr
                    lines.append(line)
                    say(line)
                if "error" in chunk:
                    lines.append("ERROR: " + str(chunk["error"]).strip())
                    say(lines[-1])
                    raise EnvironmentBuildError(build_failure(spec, "the image build failed", lines))
        except EnvironmentBuildError:
            raise
        except Exception as e:  # noqa: BLE001 - the engine refused the build
            raise EnvironmentBuildError(f"{spec.label()} could not be built: the Docker engine: {e}") from e
    return c.images.get(tag)


def _copy_wheels(folder: str, dest: Path) -> None:
    src = Path(folder)
    if not src.is_dir():
        raise EnvironmentBuildError(f"pip option --find-links names {folder!r}, which is not a folder on this machine")
    shutil.copytree(src, dest)


def _freeze(c, image_id: str, python: str) -> str:
    """What the image's Python has installed (executor/freeze.py run in a throwaway container)."""
    code = Path(freeze.__file__).read_text(encoding="utf-8")
    try:
        out = c.containers.run(image_id, [python, "-c", code], network_mode="none", remove=True,
                               stdout=True, stderr=False)
    except Exception as e:  # noqa: BLE001
        raise EnvironmentBuildError(f"image {image_id[:19]} could not list its packages: {e}") from e
    return out.decode(errors="replace")
