"""Finding a task by name: `heart`, `images`, or a user's `package.module:Name`."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from fedcluster.errors import TaskError
from fedcluster.tasks.base import Task

BUILT_IN = ("heart", "images")


def task_from_settings(settings: Mapping[str, Any]) -> Task[Any]:
    """The task named by `settings["name"]`, given the other keys as parameters."""
    name = str(settings.get("name", "heart"))
    params = {key: value for key, value in settings.items() if key != "name"}
    factory = _factory(name)
    try:
        task = factory(params)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise TaskError(
            f"task {name!r}: key 'task.{key}': {first['msg']}; "
            "fix it in the [task] table of the federation file"
        ) from error
    if not isinstance(task, Task):
        raise TaskError(
            f"task {name!r} does not follow the Task protocol "
            "(see fedcluster.tasks.base.Task); add the missing methods"
        )
    return task


def _factory(name: str) -> Any:
    if name == "heart":
        from fedcluster.tasks.heart import HeartTask

        return HeartTask.from_params
    if name == "images":
        from fedcluster.tasks.images import ImagesTask

        return ImagesTask.from_params
    if ":" not in name:
        raise TaskError(
            f"unknown task {name!r}; use one of {', '.join(BUILT_IN)} "
            "or an import path such as 'mypackage.tasks:MyTask'"
        )
    module_name, _, attribute = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise TaskError(
            f"task {name!r}: cannot import {module_name!r} ({error}); "
            "install the package or fix the import path"
        ) from error
    factory = getattr(module, attribute, None)
    if factory is None:
        raise TaskError(
            f"task {name!r}: module {module_name!r} has no {attribute!r}; "
            "fix the name after the colon"
        )
    # A class with `from_params`, or any callable taking the parameter dict.
    return getattr(factory, "from_params", factory)
