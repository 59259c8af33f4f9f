"""The files that ship with grading: the pages' templates and the example model file.

The repository keeps them at its top level (templates/, config/grading.yaml); a wheel carries them
inside the package (grading/templates/, grading/config/grading.yaml: pyproject maps the folders).
So the packaged copy is read where it exists, else the checkout's (an editable install, or the
source tree on sys.path).
"""

from __future__ import annotations

import os

PACKAGE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(PACKAGE)


def _shipped(*parts: str) -> str:
    packaged = os.path.join(PACKAGE, *parts)
    return packaged if os.path.exists(packaged) else os.path.join(CHECKOUT, *parts)


TEMPLATES = _shipped("templates")
SHIPPED_MODEL_FILE = _shipped("config", "grading.yaml")
LOCAL_MODEL_FILE = os.path.join("config", "grading.yaml")


def default_model_file() -> str:
    """The model file used without --config or GRADING_CONFIG: ./config/grading.yaml where the
    current directory has one (yours to edit), else the example that ships with grading."""
    return LOCAL_MODEL_FILE if os.path.isfile(LOCAL_MODEL_FILE) else SHIPPED_MODEL_FILE
