"""Reading the model file from disk (YAML) into a validated Config."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import yaml

from grading.core.config import ConfigError, load_config
from grading.core.model import Config


class _Loader(yaml.SafeLoader):
    """yaml.safe_load's loader, except that a date that is no date (2026-02-30) is a problem
    at its line, not a ValueError."""

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"'{node.value}' is not a date: {exc}", node.start_mark
            ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


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
        data = yaml.load(raw, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except RecursionError:
        raise ConfigError(["YAML: nested too deeply"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{where}: {problem}"]) from exc
    return LoadedConfig(load_config(data), path, hashlib.sha256(raw).hexdigest())
