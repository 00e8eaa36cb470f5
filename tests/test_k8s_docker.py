"""The Dockerfile, checked without a Docker engine: pinned bases, non-root, no secrets."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from tests.k8s_fixtures import ROOT

DOCKERFILE = ROOT / "Dockerfile"
SECRET_WORD = re.compile(r"SECRET|PASSWORD|TOKEN|ACCESS_KEY|API_KEY|CREDENTIAL", re.IGNORECASE)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse_dockerfile(text: str) -> list[Stage]:
    """Stages with their (INSTRUCTION, arguments), continuations joined, comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        logical.append(current.strip())
        current = ""
    stages: list[Stage] = []
    for line in logical:
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=parts[0], name=name))
        else:
            stages[-1].instructions.append((instruction, rest.strip()))
    return stages


def stage(stages: list[Stage], name: str) -> Stage:
    return next(s for s in stages if s.name == name)


STAGES = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def test_two_targets_from_pinned_base_images() -> None:
    names = [s.name for s in STAGES]
    assert {"crawl", "train"} <= set(names)
    for index, s in enumerate(STAGES):
        if s.base in names[:index]:
            continue  # built on an earlier stage
        image, _, tag = s.base.partition(":")
        pinned_tag = re.search(r"\d+\.\d+\.\d+", tag) is not None
        assert "@sha256:" in s.base or (pinned_tag and "latest" not in tag), s.base


@pytest.mark.parametrize("target", ["crawl", "train"])
def test_final_images_run_as_a_non_root_user(target: str) -> None:
    users = [args for inst, args in stage(STAGES, target).instructions if inst == "USER"]
    assert users, f"{target}: no USER"
    user = users[-1].split(":")[0]
    assert user not in ("0", "root"), f"{target} runs as {user}"
    # Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
    assert user.isdigit()


def test_no_add_no_secrets_no_build_time_credentials() -> None:
    for s in STAGES:
        for instruction, args in s.instructions:
            assert instruction != "ADD", f"use COPY, not ADD: {args}"
            if instruction in ("ENV", "ARG", "LABEL"):
                assert not SECRET_WORD.search(args), f"{instruction} {args}"
            if instruction == "COPY":
                assert not re.search(r"\.env|\.aws|\.ssh|\.pem|\.key|credentials", args), args


def extras_installed(s: Stage) -> set[str]:
    found = set()
    for instruction, args in s.instructions:
        if instruction != "RUN":
            continue
        for match in re.finditer(r"pip install [^&]*\"\.\[([a-z,]+)\]\"", args):
            found |= set(match[1].split(","))
    return found


def test_crawl_image_installs_no_tensorflow() -> None:
    build = next(s for s in STAGES if s.name == "build")
    crawl = stage(STAGES, "crawl")
    assert crawl.base == "python:" + build.base.split(":", 1)[1]  # same Python as the venv
    assert ("COPY", "--from=build /opt/venv /opt/venv") in crawl.instructions
    extras = extras_installed(build)
    assert extras == {"crawl", "dataset"}
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [
        r for extra in extras for r in project["optional-dependencies"][extra]
    ]
    assert not [r for r in requirements if re.match(r"(tensorflow|keras|tf-)", r)], requirements


def test_train_image_installs_tensorflow_and_opencv_and_keras_home_is_writable() -> None:
    train = stage(STAGES, "train")
    # s2s-dataset too: the dataset Job's segment stage runs the localiser on Keras.
    assert extras_installed(train) == {"dataset", "train", "gpu"}
    assert train.base == next(s for s in STAGES if s.name == "build").base  # the suite's Python
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(r.startswith("opencv-python-headless") for r in extras["train"])  # search --segment
    env = " ".join(args for inst, args in train.instructions if inst == "ENV")
    assert "KERAS_HOME=/tmp/" in env  # pods mount an emptyDir on /tmp


def test_images_install_the_pinned_set_the_suite_runs() -> None:
    import keras
    import tensorflow as tf

    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    # The train image's TensorFlow and Keras are the ones these tests run.
    assert pins["tensorflow"] == tf.__version__ and pins["keras"] == keras.__version__
    for name in ("build", "train"):
        installs = [
            a for i, a in stage(STAGES, name).instructions if i == "RUN" and "pip install" in a
        ]
        assert installs and all("-c constraints.txt" in a for a in installs), name


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path (or a parent folder) decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern[1:] if negate else pattern
        glob = glob.rstrip("/")
        names = [glob, glob.removeprefix("**/")]
        if any(fnmatch.fnmatch(c, g) for c in candidates for g in names):
            ignored = not negate
    return ignored


def test_dockerignore_sends_only_the_sources() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for needed in (
        "pyproject.toml",
        "README.md",
        "constraints.txt",
        "crawler/cli.py",
        "dataset/core/store.py",
    ):
        assert not dockerignored(needed, patterns), needed
    for unwanted in (
        ".git/config",
        ".venv/bin/python",
        "data/store/x",
        "tests/conftest.py",
        "crawler/__pycache__/cli.pyc",
        ".env",
        "k8s/crawl/base/job.yaml",
    ):
        assert dockerignored(unwanted, patterns), unwanted
    for instruction, args in (i for s in STAGES for i in s.instructions):
        if instruction == "COPY" and not args.startswith("--from"):
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert not dockerignored(source.rstrip("/"), patterns), source


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint is not installed")
def test_hadolint_is_clean() -> None:
    done = subprocess.run(["hadolint", str(DOCKERFILE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_image_commands_are_console_scripts_that_run() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for target in ("crawl", "train"):
        (cmd,) = [json.loads(a) for i, a in stage(STAGES, target).instructions if i == "CMD"]
        assert cmd[0] in scripts, cmd
        # What `docker run IMAGE` would print, run the way the console script runs it.
        package = scripts[cmd[0]].split(".")[0]
        done = subprocess.run(
            [sys.executable, "-m", package, *cmd[1:]],
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "usage:" in done.stdout
