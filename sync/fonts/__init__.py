"""DejaVu Sans (every Vietnamese letter), for what the server prints (the ward's sheets) and
what the app prints (a person's summary); its licence is DejaVu-LICENSE.txt beside it."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
REGULAR, BOLD = HERE / "DejaVuSans.ttf", HERE / "DejaVuSans-Bold.ttf"
