"""Run QualCoder's own REFI-QDA project import on a .qdpx, headless, and say what it stored.

QualCoder is not on PyPI, so this is a manual check, not part of the test suite. It was run on
QualCoder's git commit c3204641 (the one that wrote ../shared/data/refi_foreign):

    git clone https://github.com/ccbogel/QualCoder && git -C QualCoder checkout c3204641
    python -m venv /tmp/qc && /tmp/qc/bin/pip install PyQt6 pymupdf pillow
    QT_QPA_PLATFORM=offscreen /tmp/qc/bin/python benchmarks/interop/qualcoder_check.py \
        QualCoder/src study.qdpx /tmp/empty-folder

QualCoder's constructor (``RefiImport``) runs the import; its file dialog is answered with the
.qdpx, its message boxes are printed, its media player (VLC, PulseAudio) is left out, and the
project database is created with the CREATE TABLE statements of QualCoder's own ``__main__.py``.
It prints the sources and codes QualCoder made, its text codings per coder, and how many codings
do not hold the text at their offsets.
"""

import sqlite3
import sys
import textwrap
import types
from pathlib import Path

src, qdpx, work = sys.argv[1:4]
main = (Path(src) / "qualcoder" / "__main__.py").read_text(encoding="utf-8")
sys.path.insert(0, src)
stub = types.ModuleType("qualcoder.media_player_qt")
stub.MediaInstance = object
stub.make_vlc_instance = lambda *a, **k: None
sys.modules["qualcoder.media_player_qt"] = stub
from PyQt6 import QtWidgets  # noqa: E402

qt = QtWidgets.QApplication(sys.argv)
import qualcoder.refi as refi  # noqa: E402


class Quiet:
    def __init__(self, *a, **k):
        self.args = a

    def exec(self):
        print("QualCoder message:", self.args[1] if len(self.args) > 1 else "", file=sys.stderr)


refi.Message = Quiet
work = Path(work)
(work / "project.qda" / "documents").mkdir(parents=True)
conn = sqlite3.connect(work / "project.qda" / "data.qda")
cur = conn.cursor()
first = main.index('cur.execute(\n            "CREATE TABLE project')
creating = main[main.rindex("\n", 0, first) + 1 :]
block = creating[: creating.index("self.app.update_coder_names()")]
exec(textwrap.dedent(block), {"cur": cur})
conn.commit()


class App:
    settings = {"codername": "default", "ai_enable": "False", "directory": str(work)}
    project_path = str(work / "project.qda")

    def __init__(self):
        self.conn = conn

    def write_config_ini(self, *a):
        pass

    ai_models = None


class Edit:
    def append(self, text):
        print("log:", text, file=sys.stderr)


import shutil  # noqa: E402

copy = work / Path(qdpx).name  # QualCoder unpacks next to the file it imports
shutil.copy(qdpx, copy)
QtWidgets.QFileDialog.getOpenFileName = staticmethod(lambda *a, **k: (str(copy), True))
refi.RefiImport(App(), Edit(), "qdpx")  # QualCoder's own constructor runs the import
print("sources", cur.execute("select count(*) from source").fetchone()[0])
print("codes", [r[0] for r in cur.execute("select name from code_name order by cid")])
print("categories", cur.execute("select count(*) from code_cat").fetchone()[0])
print(
    "codings by coder",
    cur.execute("select owner, count(*) from code_text group by owner order by owner").fetchall(),
)
print("journals", cur.execute("select count(*) from journal").fetchone()[0])
bad = 0
for seltext, fulltext, pos0, pos1 in cur.execute(
    "select seltext, s.fulltext, pos0, pos1 from code_text c join source s on s.id = c.fid"
):
    bad += seltext != fulltext[pos0:pos1]
print("codings whose text is not at their offsets", bad)
