"""Reading the model file (YAML 1.2, with ruamel.yaml) into a validated Config.

Every path that reads a model file comes here: check-config, the server's start, reload and
watch, `grading preview`, POST /api/models/preview and the web upload. Before anything is built
from the text, its node graph is measured: aliases may not make it expand beyond MAX_NODES nodes
(a text counts one node per 100 characters) or MAX_DEPTH levels (each shared node is measured once, so the measuring cannot blow up itself),
and a key given twice in one mapping is refused. Every problem names its line where the node is
known: ``line 12: models[0].fit.rules[3].when: unknown operator 'greater'``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from grading.core.config import ConfigError, load_config
from grading.core.config_webhooks import ENV_NAME
from grading.core.model import Config

# The shipped config/grading.yaml (two models, 38 rules, 6 categories: 18 KB) is 1,419 nodes and
# 11 levels deep. 100,000 nodes is seventy such files in one, about 1.3 MB of YAML, and validates
# in a second or two; 64 levels hold conditions nested some 25 deep. The seven-level alias
# bomb (444 characters, ~10^7 conditions once expanded) is refused in milliseconds. The byte bound
# keeps the parse itself short (pure-Python ruamel.yaml reads ~200 KB/s on a busy machine).
MAX_NODES = 100_000
MAX_DEPTH = 64
MAX_BYTES = 1_000_000

_MERGE = "tag:yaml.org,2002:merge"


class _Constructor(SafeConstructor):
    """The safe constructor, except that a scalar Python cannot take (a date that is no date,
    2026-02-30; an integer of 5,000 digits) is a problem at its line, not a ValueError."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            what = f"'{node.value[:40]}'" if isinstance(node, ScalarNode) else "this value"
            why = str(exc).split(";")[0]  # not Python's advice on sys.set_int_max_str_digits
            fails = "is not a date" if _tag(node).endswith(":timestamp") else "cannot be read"
            raise ConstructorError(None, None, f"{what} {fails}: {why}", node.start_mark) from None


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
    return LoadedConfig(parse_config(raw), path, hashlib.sha256(raw).hexdigest())


def parse_config(raw: bytes) -> Config:
    """A model file's text -> Config, or ConfigError with every problem, by line and path."""
    data, root = parse_yaml(raw)
    problems = environment_problems(data)
    try:
        config = load_config(data)
    except ConfigError as error:
        problems = error.problems + problems
    problems = schedule_problems(data) + problems  # the schedule is the file's first key
    if problems:
        raise ConfigError([_with_line(root, problem) for problem in problems])
    return config


def parse_yaml(raw: bytes) -> tuple[Any, Node | None]:
    """The YAML 1.2 document and its node tree (for lines); ConfigError when the text is no YAML,
    is another version, expands too far through aliases, or repeats a key."""
    if len(raw) > MAX_BYTES:
        raise ConfigError([f"the model file is {len(raw):,} bytes: at most {MAX_BYTES:,}"])
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _Constructor
    yaml.max_depth = MAX_DEPTH  # the composer refuses deeper text before it recurses further
    yaml.composer.warn_double_anchors = False  # YAML allows redefining an anchor: no stderr noise
    try:
        root = yaml.compose(raw)
        if root is None:
            return None, None
        version = yaml.resolver.processing_version
        if tuple(version) != (1, 2):  # a %YAML 1.1 directive would bring back NO as false
            raise ConfigError(
                [
                    f"line 1: %YAML {'.'.join(map(str, version))}: the model file is read as "
                    "YAML 1.2 (only true and false are booleans); remove the directive"
                ]
            )
        problems = _Measure().problems_of(root)
        if problems:
            raise ConfigError(problems)
        return yaml.constructor.construct_document(root), root
    except RecursionError:
        raise ConfigError([f"YAML: nested deeper than {MAX_DEPTH} levels"]) from None
    except YAMLError as exc:
        raise ConfigError([_yaml_problem(exc)]) from None
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - ruamel.yaml also fails with AssertionError, KeyError…
        # on some malformed text (%YAML 1.3, !!omap with a repeated key, !!bool x): whatever the
        # reader trips over is a problem of the file, never a crash of check-config or a 500
        raise ConfigError([f"YAML: cannot be read ({type(exc).__name__}: {exc})"[:300]]) from None


def _yaml_problem(exc: YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
    if "maximum depth" in str(problem):
        problem = f"nested deeper than {MAX_DEPTH} levels"
    if mark is None:
        return f"YAML: {problem}"
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


class _TooBig(Exception):
    pass


class _Measure:
    """Nodes and depth of the document as it expands, each shared (aliased) node measured once;
    duplicate keys, each mapping checked once."""

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.heights: dict[int, int] = {}
        self.open: set[int] = set()  # the nodes being measured: an alias to one is a cycle
        self.duplicates: list[str] = []

    def problems_of(self, root: Node) -> list[str]:
        try:
            total = self.size(root, "", 1)
        except _TooBig as refused:
            return [str(refused)]
        if total > MAX_NODES:
            return [self.too_many(root, "", total)]
        return self.duplicates

    def too_many(self, node: Node, path: str, total: int) -> str:
        return (
            f"line {node.start_mark.line + 1}: {path or 'the file'}: expands to {total:,} nodes "
            f"or more through aliases (at most {MAX_NODES:,} in a model file)"
        )

    def size(self, node: Node, path: str, depth: int) -> int:
        key = id(node)
        if key in self.open:
            raise _TooBig(
                f"line {node.start_mark.line + 1}: {path or 'the file'}: an alias refers to a "
                "node that contains it"
            )
        if key in self.sizes:
            if depth + self.heights[key] - 1 > MAX_DEPTH:
                raise self.too_deep(node, path)
            return self.sizes[key]
        if depth > MAX_DEPTH:
            raise self.too_deep(node, path)
        self.open.add(key)
        # a long text weighs as many nodes as it has hundreds of characters: a 400 KB string
        # repeated through a thousand aliases is 400 MB of model, not a thousand nodes
        total = 1 + (len(node.value) // 100 if isinstance(node, ScalarNode) else 0)
        height = 1
        for child, child_path in self.children(node, path):
            total += self.size(child, child_path, depth + 1)
            height = max(height, 1 + self.heights[id(child)])
            if total > MAX_NODES:
                raise _TooBig(self.too_many(node, path, total))
        self.open.discard(key)
        self.sizes[key], self.heights[key] = total, height
        return total

    def too_deep(self, node: Node, path: str) -> _TooBig:
        return _TooBig(
            f"line {node.start_mark.line + 1}: {path or 'the file'}: nested deeper than "
            f"{MAX_DEPTH} levels (aliases included)"
        )

    def children(self, node: Node, path: str) -> list[tuple[Node, str]]:
        if isinstance(node, SequenceNode):
            return [(child, f"{path}[{i}]") for i, child in enumerate(node.value)]
        if not isinstance(node, MappingNode):
            return []
        out: list[tuple[Node, str]] = []
        seen: dict[tuple[str, Any], int] = {}
        for key, value in node.value:
            name = _key_text(key) or "…"
            child_path = f"{path}.{name}" if path else str(name)
            if isinstance(key, ScalarNode) and _tag(key) != _MERGE:
                ident = (_tag(key), key.value)
                if ident in seen:
                    self.duplicates.append(
                        f"line {key.start_mark.line + 1}: {child_path}: duplicate key "
                        f"'{name}' (first on line {seen[ident]}); give each key once"
                    )
                seen.setdefault(ident, key.start_mark.line + 1)
            out.append((key, child_path))
            out.append((value, child_path))
        return out


def _key_text(node: Node) -> str | None:
    """A key as the validator's paths write it (str() of the key YAML reads: None, True, 17)."""
    if not isinstance(node, ScalarNode):
        return None
    tag, value = _tag(node).rpartition(":")[2], str(node.value)
    try:
        if tag == "null":
            return "None"
        if tag == "bool":
            return str(value.lower() == "true")
        if tag == "int":
            digits = value.replace("_", "")
            return str(
                int(digits, 0)
                if digits.lstrip("+-")[:2].lower() in ("0x", "0o", "0b")
                else int(digits)
            )
        if tag == "float":
            return str(float(value.replace("_", "").replace(".inf", "inf").replace(".nan", "nan")))
    except ValueError:
        pass
    return value


def _tag(node: Node) -> str:
    tag = node.tag
    return str(getattr(tag, "value", tag))


def _with_line(root: Node | None, problem: str) -> str:
    """'models[0].fit: is required' -> 'line 7: models[0].fit: is required' (the deepest node of
    the path that the file has: the key's own line, or the mapping that lacks it)."""
    if root is None or problem.startswith("line "):
        return problem
    path, sep, _ = problem.partition(": ")
    line = _line_of(root, path) if sep else None
    return f"line {line}: {problem}" if line else problem


def _line_of(root: Node, path: str) -> int | None:
    node, rest, line = root, path, None
    while rest:
        if isinstance(node, SequenceNode) and rest.startswith("["):
            index, _, rest = rest[1:].partition("]")
            if not index.isdigit() or int(index) >= len(node.value):
                break
            node = node.value[int(index)]
            line = node.start_mark.line + 1
        elif isinstance(node, MappingNode):
            found = None
            for key, value in node.value:
                name = _key_text(key)
                if name is not None and (rest == name or rest.startswith((name + ".", name + "["))):
                    if found is None or len(name) > len(found[0]):
                        found = (name, key, value)
            if found is None:
                break
            name, key, node = found
            line = key.start_mark.line + 1
            rest = rest[len(name) :]
        else:
            break
        rest = rest.removeprefix(".")
    return line


def schedule_problems(data: Any) -> list[str]:
    """`schedule.regrade` must be a cron expression APScheduler can run (the core checks that it
    is a text; the scheduler library is not pure computation, so it is asked here)."""
    schedule = data.get("schedule") if isinstance(data, Mapping) else None
    text = schedule.get("regrade") if isinstance(schedule, Mapping) else None
    if not isinstance(text, str) or not text.strip():
        return []
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(text, timezone="UTC")
    except ValueError as exc:
        return [f"schedule.regrade: bad cron expression '{text}': {exc}"]
    return []


def environment_problems(data: Any) -> list[str]:
    """A webhook whose secret_env names an unset (or empty) variable would send unsigned messages:
    that is a problem of the model file (the environment is I/O: checked here, not in the core)."""
    hooks = data.get("webhooks") if isinstance(data, Mapping) else None
    problems = []
    for i, hook in enumerate(hooks if isinstance(hooks, list) else []):
        name = hook.get("secret_env") if isinstance(hook, Mapping) else None
        if isinstance(name, str) and ENV_NAME.match(name) and not os.environ.get(name, "").strip():
            problems.append(
                f"webhooks[{i}].secret_env: the environment variable {name} is not set (or is "
                "empty or blank): its messages would go unsigned; set it, or remove secret_env"
            )
    return problems
