"""Dataset files for the CLI: .json (a list, or {"dataset": [...]}), .jsonl and .csv, into DatasetItems.

CSV columns: input, output, and optionally context (a JSON list or plain text), tool_calls (JSON),
system_prompt, expected, trace_id. Errors name the file position (line or row) and the field.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import msgspec

from workers.contract import DatasetItem


class DatasetFileError(ValueError):
    """The dataset file cannot be read; the message names the position and the problem."""


def _convert(raw: Any, where: str) -> DatasetItem:
    if not isinstance(raw, dict):
        raise DatasetFileError(f"{where}: expected a JSON object, got {type(raw).__name__}")
    try:
        return msgspec.convert(raw, DatasetItem)
    except msgspec.ValidationError as exc:
        raise DatasetFileError(f"{where}: {exc}".replace(" - at `$", " at `")) from None


def _json_cell(value: str, column: str, where: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise DatasetFileError(f"{where}: column {column!r} is not valid JSON ({exc.msg})") from None


def _csv_row(row: dict[str, str], where: str) -> dict[str, Any]:
    item: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
    context = item.get("context")
    if isinstance(context, str):
        item["context"] = _json_cell(context, "context", where) if context.lstrip().startswith("[") else [context]
    if "tool_calls" in item:
        item["tool_calls"] = _json_cell(item["tool_calls"], "tool_calls", where)
    if "metadata" in item:
        item["metadata"] = _json_cell(item["metadata"], "metadata", where)
    return item


def load_dataset(path: Path) -> tuple[list[DatasetItem], str]:
    """Read a dataset file; returns the items and the input type ("json" or "csv").

    Raises:
        DatasetFileError: unreadable file, unknown extension, or an invalid item (position named).
    """
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetFileError(f"{path}: cannot read ({exc})") from None
    if suffix == ".jsonl":
        items = []
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                items.append(_convert(_json_cell(line, "line", f"{path}:{n}"), f"{path}:{n}"))
        return items, "json"
    if suffix == ".json":
        data = _json_cell(text, "file", str(path))
        if isinstance(data, dict) and "dataset" in data:
            data = data["dataset"]
        if not isinstance(data, list):
            raise DatasetFileError(f'{path}: expected a JSON list of items or {{"dataset": [...]}}')
        return [_convert(raw, f"{path}: item {i}") for i, raw in enumerate(data)], "json"
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        rows = [_csv_row(row, f"{path}: row {n}") for n, row in enumerate(reader, start=2)]
        return [_convert(row, f"{path}: row {n}") for n, row in enumerate(rows, start=2)], "csv"
    raise DatasetFileError(f"{path}: unsupported file type {suffix!r}; use .json, .jsonl or .csv")
