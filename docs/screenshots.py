"""Make the README's screenshots: the HTML report and a notebook cell of the shipped
Titanic demo's audit, rendered by headless chromium. Run from the repository root:

    .venv/bin/python docs/screenshots.py

It trains the demo model (examples/demo/train_titanic.py) in a temporary folder,
audits it with ``auditkit run`` exactly as ``make demo`` does (plus ``--html``),
shows the scorecard the way Jupyter shows it (``card._repr_html_()``, inside a
page laid out like a notebook cell), and writes ``docs/images/report.png`` and
``docs/images/notebook.png``. It needs Debian's chromium (``apt-get install
chromium``, as .ci/run does) and shrinks the images with pngquant when it is
installed (``apt-get install pngquant``).
"""

from __future__ import annotations

import html
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# A browser that talks to nothing and draws at one pixel per CSS pixel.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
# The code the notebook cell shows is the code that made its output (below).
CELL_CODE = 'card = auditkit.scorecard_from_json(Path("scorecard.json").read_text())\ncard'
NOTEBOOK_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; padding: 16px 20px; background: #ffffff; font: 13px system-ui, sans-serif; }}
.cell {{ display: grid; grid-template-columns: 64px 1fr; row-gap: 8px; }}
.prompt {{ font: 13px ui-monospace, monospace; color: #307fc1; text-align: right; padding: 6px 8px 0 0; }}
.prompt.out {{ color: #bf5b3d; }}
.code {{ font: 13px/1.5 ui-monospace, monospace; background: #f5f5f5; border: 1px solid #e0e0e0; padding: 6px 10px; white-space: pre; margin: 0; }}
</style></head><body>
<div class="cell"><div class="prompt">In [3]:</div><pre class="code">{code}</pre>
<div class="prompt out">Out[3]:</div><div>{cell}</div></div>
</body></html>"""


def run(*args: str, cwd: Path, ok: tuple[int, ...] = (0,)) -> None:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if proc.returncode not in ok:
        sys.exit(f"{' '.join(args[:3])} ... failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def screenshot(page: Path, png: Path, width: int, height: int, profile: Path) -> None:
    run(CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", f"--screenshot={png}",
        page.as_uri(), cwd=page.parent)
    if shutil.which("pngquant"):  # a palette of 256 colours reads the same and weighs a third
        run("pngquant", "--force", "--skip-if-larger", "--quality=70-95", "--output", str(png), str(png), cwd=page.parent, ok=(0, 98, 99))


def main() -> None:
    if not Path(CHROMIUM).exists():
        sys.exit("chromium is not installed: apt-get install chromium")
    sys.path.insert(0, str(ROOT))
    import auditkit

    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run(sys.executable, str(ROOT / "examples" / "demo" / "train_titanic.py"), str(work), cwd=work)
        # make demo's audit; exit status 1 is the demo's point (the model leaks).
        run(sys.executable, "-m", "auditkit", "run", "--data", "titanic_audit.csv", "--reference", "titanic_train.csv",
            "--model", "titanic_model.skops", "--target", "survived", "--sensitive", "sex",
            "--cost-fp", "1", "--cost-fn", "5", "--json", "scorecard.json", "--html", "report.html", cwd=work, ok=(0, 1))
        screenshot(work / "report.html", IMAGES / "report.png", 1100, 1500, work / "profile")

        card = auditkit.scorecard_from_json((work / "scorecard.json").read_text(encoding="utf-8"))
        page = work / "notebook.html"
        page.write_text(NOTEBOOK_PAGE.format(code=html.escape(CELL_CODE), cell=card._repr_html_()), encoding="utf-8")
        screenshot(page, IMAGES / "notebook.png", 1000, 1300, work / "profile")
    for png in ("report.png", "notebook.png"):
        print(f"{IMAGES.relative_to(ROOT) / png}: {(IMAGES / png).stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
