"""Reading the model file from disk (YAML) into a validated Config."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import yaml

from grading.core.config import ConfigError, load_config
from grading.core.model import Config


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: str
    digest: str  # sha256 of the file's bytes: which version of the model file is active


def read_config(path: str) -> LoadedConfig:
    """Load and validate a model file; ConfigError lists every problem (YAML syntax included)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the model file: {exc.strerror}"]) from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{where}: {problem}"]) from exc
    return LoadedConfig(load_config(data), path, hashlib.sha256(raw).hexdigest())
