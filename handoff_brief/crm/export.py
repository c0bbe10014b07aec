"""`Export`: an export folder for one CRM, filled brief by brief, finished with its
`manifest.json`. Each CRM adds its own files through its adapter (an import table's rows,
request bodies); every file goes through `outputs.write_output`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..outputs import ensure_folder, write_output
from .adapter import Adapter
from .common import CrmBrief, neutralise_cell, record_ids

MANIFEST = "manifest.json"

#: One skipped handoff as the manifest lists it: `file`, `id` (None if invalid), `reason`.
Skipped = dict[str, Any]


class Export:
    """The folder is created at once; PDFs and request bodies are written as briefs come,
    the import table and the manifest by `finish`."""

    def __init__(self, crm: Adapter, folder: Path) -> None:
        self.crm = crm
        self.folder = ensure_folder(folder)
        self.exported: list[dict[str, Any]] = []
        self.skipped: list[Skipped] = []
        self.rows: list[list[str]] = []

    def add(self, brief: CrmBrief) -> None:
        """Write the brief's PDF and its request body; `Skip` (before any write) if it
        cannot be exported."""
        body = self.crm.request_body(brief)
        pdf = self.folder / brief.file_name
        row = self.crm.row(brief, pdf)
        write_output(pdf, brief.pdf)
        entry: dict[str, Any] = {"file": brief.source, "id": brief.handoff.id,
                                 "pdf": brief.file_name, "sha256_12": brief.digest,
                                 "records": record_ids(brief.handoff, self.crm.name)}
        if body is not None:
            name = f"{brief.handoff.id}.{self.crm.name}.json"
            write_output(self.folder / name, _json(body))
            entry["request"] = name
        if row is not None:
            self.rows.append(row)
        self.exported.append(entry)

    def skip(self, entry: Skipped) -> None:
        self.skipped.append(entry)

    def finish(self) -> Path:
        """Write the import table (if the CRM has one) and the manifest; the manifest's path."""
        manifest: dict[str, Any] = {"crm": self.crm.name, "exported": self.exported,
                                    "skipped": self.skipped}
        if self.crm.table is not None:
            write_output(self.folder / self.crm.table, _csv(self.crm.columns, self.rows))
            manifest["csv"] = self.crm.table
        path = self.folder / MANIFEST
        write_output(path, _json(manifest))
        return path


def write_export(crm: Adapter, briefs: list[CrmBrief], skipped: list[Skipped],
                 folder: Path) -> Path:
    """A whole export at once: the briefs, the skipped handoffs; the manifest's path."""
    export = Export(crm, folder)
    for brief in briefs:
        export.add(brief)
    for entry in skipped:
        export.skip(entry)
    return export.finish()


def _csv(columns: tuple[str, ...], rows: list[list[str]]) -> bytes:
    """Every cell quoted, CRLF line ends, UTF-8, no cell able to start a formula."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([neutralise_cell(cell) for cell in row] for row in rows)
    return out.getvalue().encode("utf-8")


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
