"""Markdown worst cases: time the app's renderer (``render_markdown``), the archive's quoting
(``markdown_text``) and the editor's hints (``postmortem_hints``, which the preview endpoint
runs on every section sent) on pathological inputs, at sizes doubling up to the section limit.

    .venv/bin/python bench/markdown_speed.py [--repeat 3] [--compare]

Prints, per input, the best time of ``--repeat`` runs at each size and the growth from one
size to the next: near 2.0 for each doubling is linear, near 4.0 quadratic. Each rendering is
of a text not seen before (the renderer caches long texts): a first view's time; a last line
gives a repeated view's. ``--compare``
adds the previous renderer (Python-Markdown, if installed) at the smaller sizes, stopping an
input once a run takes over 5 s. No database is used.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # not bench/: this file would shadow the ``markdown`` package

from bench.common import setup_django  # noqa: E402

# Each input is a unit repeated to the size measured (or a function of the size).
INPUTS: dict[str, Callable[[int], str]] = {
    "links '[a]('": lambda n: "[a](" * (n // 4),
    "brackets '['": lambda n: "[" * n,
    "images '![a]('": lambda n: "![a](" * (n // 5),
    "emphasis '*a'": lambda n: "*a" * (n // 2),
    "strong '**a'": lambda n: "**a" * (n // 3),
    "underscores 'a_'": lambda n: "a_" * (n // 2),
    "strike '~~a'": lambda n: "~~a" * (n // 3),
    "backticks '`a``'": lambda n: "`a``" * (n // 4),
    "angle brackets '<a'": lambda n: "<a" * (n // 2),
    "entities '&#'": lambda n: "&#" * (n // 2),
    "escapes '\\\\'": lambda n: "\\" * n,
    "quotes '> '": lambda n: "> " * (n // 2),
    "nested lists": lambda n: "".join("  " * (i % 40) + "- x\n" for i in range(n // 44)),
    "references '[a]: b'": lambda n: "[a]: b\n" * (n // 14) + "[a]" * (n // 6),
    "wide table": lambda n: "|a" * (n // 6) + "\n" + "|-" * (n // 6) + "\n" + "|a" * (n // 6),
    "fences": lambda n: "```\n" * (n // 4),
    "names 'a.' (hints)": lambda n: "a." * (n // 2),
    "prose": lambda n: ("The **payment gateway** timed out; see [the runbook](https://x.example/r).\n\n" * n)[:n],
}


def best_of(repeat: int, func: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def report(name: str, func: Callable[[str], object], sizes: list[int], repeat: int, cap: float | None = None):
    """One line per input: ms at each size, then the growth per doubling. Returns the worst ms."""
    print(f"\n{name}  (ms at {', '.join(f'{s:,}' for s in sizes)} chars; growth per doubling)")
    worst = 0.0
    for label, make in INPUTS.items():
        times = []
        for size in sizes:
            text = make(size)
            seconds = best_of(1 if cap else repeat, lambda text=text: func(text))
            times.append(seconds)
            if cap and seconds > cap:
                break
        worst = max(worst, times[-1] * 1000)
        cells = " ".join(f"{t * 1000:9.1f}" for t in times).ljust(10 * len(sizes))
        growth = " ".join(f"{b / a:4.1f}" if a > 0 else "   -" for a, b in zip(times, times[1:], strict=False))
        print(f"  {label:<22}{cells}  {growth}")
    return worst


def old_renderer() -> Callable[[str], str] | None:
    try:
        import markdown as md
    except ImportError:
        return None

    def render(text: str) -> str:
        converter = md.Markdown(extensions=["tables", "fenced_code", "sane_lists"], output_format="html")
        converter.preprocessors.deregister("html_block")
        converter.inlinePatterns.deregister("html")
        return converter.convert(text)

    return render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare", action="store_true", help="also time the previous renderer")
    args = parser.parse_args()
    setup_django()
    from postmortems.hints import postmortem_hints
    from postmortems.markdown import MAX_MARKDOWN_LENGTH, QUOTE_LENGTH, markdown_text, render_markdown

    sizes = [MAX_MARKDOWN_LENGTH // 8, MAX_MARKDOWN_LENGTH // 4, MAX_MARKDOWN_LENGTH // 2, MAX_MARKDOWN_LENGTH]
    seen = iter(range(10**9))

    def first_view(text: str) -> str:
        return render_markdown(f"{text[:-12]}\n\n{next(seen):010d}")

    worst = {
        "render_markdown": report("render_markdown, first view (pages, preview)", first_view, sizes, args.repeat),
        "markdown_text": report(
            "markdown_text (archive snippets; reads at most QUOTE_LENGTH characters)",
            markdown_text,
            [QUOTE_LENGTH // 8, QUOTE_LENGTH // 4, QUOTE_LENGTH // 2, QUOTE_LENGTH],
            args.repeat,
        ),
        "postmortem_hints": report(
            "postmortem_hints (editor, preview; one section)",
            lambda text: postmortem_hints({"root_cause": text}, [], ["Fay", "Otto"]),
            sizes,
            args.repeat,
        ),
    }
    old = old_renderer() if args.compare else None
    if args.compare and old is None:
        print("\n(--compare: Python-Markdown is not installed)")
    elif old is not None:
        report("previous renderer, Python-Markdown (stops past 5 s)", old, [1000, 2000, 4000, 8000], 1, cap=5.0)
    print("\nWorst case at the limit (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in worst.items()))
    text = INPUTS["brackets '['"](MAX_MARKDOWN_LENGTH)
    render_markdown(text)
    cached = best_of(args.repeat, lambda: render_markdown(text))
    print(f"Repeated view of the slowest, from the cache (ms): {cached * 1000:.1f}")


if __name__ == "__main__":
    main()
