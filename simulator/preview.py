"""A PNG sheet of cutouts per class, to eyeball what the simulator or an import produced."""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.figure import Figure
from PIL import Image

import contract as c


def contact_sheet(objs: Sequence, path: str, per_class: int = 8, title: str = "") -> None:
    fig = Figure(figsize=(per_class * 1.3, len(c.CLASS_NAMES) * 1.5))  # no pyplot: no global state, no GUI backend
    axes = fig.subplots(len(c.CLASS_NAMES), per_class)
    for row, name in enumerate(c.CLASS_NAMES):
        chosen = [o for o in objs if o.label == name][:per_class]
        for col in range(per_class):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            if col < len(chosen):
                o = chosen[col]
                ax.imshow(Image.open(io.BytesIO(o.image_jpeg)))
                ax.set_title(f"r={o.mags['r']:.1f} z={o.redshift:.2f}", fontsize=6)
            if col == 0:
                ax.set_ylabel(name, fontsize=9)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
