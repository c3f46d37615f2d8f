"""The post-incident review written out: Markdown, HTML and the timeline plot.

The review's content and rules are desk/review.py's; the document model is the after-action
report's (`simulation.drills.aar.Doc`, so a review reads like a drill's report), the plot
style and CJK fonts the simulation reports' (`simulation.results.plots`). This front-end
module only renders.
"""

from __future__ import annotations

from pathlib import Path

from desk.review import Review

__all__ = ["REVIEW_FILES", "write_review"]

REVIEW_FILES = ("review.md", "review.html", "timeline.png", "timeline.svg")


def write_review(review: Review, out: Path) -> list[Path]:
    """Write the review into the folder `out` (made if missing); the files written."""
    from matplotlib.figure import Figure  # only when a review is written

    from simulation.drills.aar import Doc
    from simulation.results.plots import plot_style, save_figure

    out.mkdir(parents=True, exist_ok=True)
    doc = Doc(list(review.blocks))
    paths = [out / "review.md", out / "review.html"]
    paths[0].write_text(doc.markdown(), encoding="utf-8")
    paths[1].write_text(doc.html(review.title), encoding="utf-8")
    with plot_style():
        fig = Figure(figsize=(10, 4.5))
        ax = fig.add_subplot(1, 1, 1)
        if review.arrivals:
            ax.bar([h + 0.5 for h, _ in review.arrivals], [n for _, n in review.arrivals],
                   width=0.9, color="#b0c4de", label="arrivals per hour")
        if review.backlog:
            ax.step([h for h, _ in review.backlog], [n for _, n in review.backlog],
                    where="post", color="#1f4e79", label="cases open")
        ax.set_xlabel(f"hours since {review.start.astimezone().strftime('%Y-%m-%d %H:%M')}")
        ax.set_ylabel("cases")
        levels = ax.twinx()
        levels.step([h for h, _, _ in review.levels], [i for _, i, _ in review.levels],
                    where="post", color="#c0392b", label="emergency level")
        names = sorted({(i, n) for _, i, n in review.levels})
        levels.set_yticks([i for i, _ in names], [n for _, n in names])
        levels.set_ylabel("emergency level")
        top = max([n for _, n in review.backlog] + [1])
        for hour, label in review.marks:
            ax.axvline(hour, color="#888888", linewidth=0.6, linestyle=":")
            ax.text(hour, top, label, rotation=90, fontsize=7, va="top", ha="right")
        ax.set_title(review.title)
        handles = ax.get_legend_handles_labels()
        extra = levels.get_legend_handles_labels()
        ax.legend(handles[0] + extra[0], handles[1] + extra[1], loc="upper left", fontsize=8)
        paths += save_figure(fig, out, "timeline")
    return paths
