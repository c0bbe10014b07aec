"""The built wheel carries its templates and styles: it renders a PDF outside the repo."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from pypdf import PdfReader

from .conftest import ROOT, SAMPLES


def test_wheel_installed_elsewhere_renders_a_pdf(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(dist.glob("handoff_brief-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for tier in ("qualified", "warmed", "call-qualified"):
        assert f"handoff_brief/templates/html/{tier}.html.j2" in names
        assert f"handoff_brief/templates/md/{tier}.md.j2" in names
    assert "handoff_brief/styles/brief.css" in names
    assert "handoff_brief/samples/call-qualified.yaml" in names
    assert "handoff_brief/samples/weak/no-due-date.yaml" in names

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(SAMPLES / "warmed.yaml", work / "handoff.yaml")
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    copied = subprocess.run([sys.executable, "-m", "handoff_brief", "samples", "examples"],
                            cwd=work, env=env, capture_output=True, text=True)
    assert copied.stderr == ("wrote 18 samples into examples: try handoff-brief render "
                             "examples/call-qualified.yaml\n"), copied.stderr
    assert (work / "examples" / "weak" / "no-due-date.yaml").read_bytes() == (
        SAMPLES / "weak" / "no-due-date.yaml").read_bytes()
    located = subprocess.run([sys.executable, "-c", "import handoff_brief; "
                              "print(handoff_brief.__file__)"], cwd=work, env=env,
                             capture_output=True, text=True, check=True)
    assert located.stdout.startswith(str(target))
    result = subprocess.run([sys.executable, "-m", "handoff_brief", "render", "handoff.yaml",
                             "-o", "brief.pdf"], cwd=work, env=env, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "wrote brief.pdf (1 page)\n"
    reader = PdfReader(io.BytesIO((work / "brief.pdf").read_bytes()))
    assert "Brightline Dental Clinics" in reader.pages[0].extract_text()
