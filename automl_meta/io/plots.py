"""PNG figures (matplotlib's Agg canvas: no display needed, no global backend switch)."""

from __future__ import annotations

from pathlib import Path


def save_loss_curves(path: str | Path, curves: dict, title: str = "", log_scale: bool = True) -> Path:
    """Plot loss curves and write a PNG.

    Parameters
    ----------
    path : str or Path
        The PNG to write (parent folders are created).
    curves : dict
        ``{name: {"mean": [...], "q25": [...], "q75": [...]}}``: the mean loss
        per step is drawn as a line, the interquartile range over tasks as a band.
    """
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for name, curve in curves.items():
        steps = range(len(curve["mean"]))
        (line,) = ax.plot(steps, curve["mean"], label=name, linewidth=2 if name == "learned" else 1.2)
        if "q25" in curve and "q75" in curve:
            ax.fill_between(steps, curve["q25"], curve["q75"], color=line.get_color(), alpha=0.15, linewidth=0)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (mean; band: interquartile range over tasks)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    return path


def save_figure(fig, path: str | Path, dpi: int) -> None:
    """Write ``fig`` to ``path`` atomically (an existing file stays whole if the write fails), in the suffix's format."""
    from automl_meta.io.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:  # the temporary name ends in .tmp: the format is the target's
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".").lower() or "png")
