"""The `kb` command line: parses arguments, calls core.knowledge_base, prints with rich (or JSON with --json)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ingest.readers import ReaderError
from core.models import Filters, Kind

app = typer.Typer(help="Ask questions of podcast transcripts and notes, with cited answers.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]
K = Annotated[int, typer.Option("-k", "--k", min=1, max=100, help="number of results")]
Speaker = Annotated[Optional[str], typer.Option(help="only passages by this speaker (name or part of it)")]
EpisodeOpt = Annotated[Optional[str], typer.Option("--episode", help="only this episode (id or part of the title)")]
KindOpt = Annotated[Optional[Kind], typer.Option(help="only this kind of passage")]
ThemeOpt = Annotated[Optional[list[str]], typer.Option("--theme", help="only passages carrying this theme (repeatable: any of)")]


def _kb(build: bool = True):
    from core.knowledge_base import KnowledgeBase

    kb = KnowledgeBase()
    if build and kb.ensure_ingested(progress=True) is not None:
        err.print(f"[dim]built the index from {', '.join(str(p) for p in kb.settings.corpus_dirs)}[/dim]")
    return kb


def _query_kb():
    """A knowledge base ready to answer queries, with KB_SERVE_THREADS encoder threads (onnxruntime's intra-op
    threads; PyTorch's when the store is bf16): a query is a dozen tokens, and on shared cores a second thread
    only spins (2 busy cores: /search p50 ~525 ms with two threads, ~45 ms with one). Building a missing index
    (`_kb`) still encodes on every core; the encoder and the index then load in `warm_up`."""
    kb = _kb()
    kb.embedder.set_threads(kb.settings.serve_threads)
    kb.warm_up()
    return kb


def _dump(data) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@app.command()
def ingest(paths: Annotated[Optional[list[Path]], typer.Argument(help="files or folders (default: corpus/)")] = None,
           prune: Annotated[bool, typer.Option(help="remove episodes whose files are gone")] = False,
           as_json: JsonOpt = False) -> None:
    """Add new and changed transcripts to the index; unchanged ones are skipped."""
    kb = _kb(build=False)
    try:
        report = kb.ingest(paths or None, prune=prune, progress=not as_json)
    except FileNotFoundError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2)
    if as_json:
        _dump(report.model_dump())
    else:
        out.print(f"added {len(report.added)}, updated {len(report.updated)}, skipped {len(report.skipped)}, "
                  f"removed {len(report.removed)}, failed {len(report.failed)}; embedded {report.chunks_embedded} "
                  f"texts; index version {report.index_version}", soft_wrap=True)
        for path, why in report.failed.items():
            err.print(f"[yellow]skipped[/yellow] {why}")
        for path, first in report.duplicates.items():
            err.print(f"[yellow]duplicate[/yellow] {path} has the same content as {first} (both indexed)")
    if report.failed:
        raise typer.Exit(1)


@app.command()
def search(query: str, k: K = 10, speaker: Speaker = None, episode: EpisodeOpt = None, kind: KindOpt = None,
           theme: ThemeOpt = None, as_json: JsonOpt = False) -> None:
    """Passages that match a query, best first."""
    hits = _query_kb().search(query, k, Filters(speaker=speaker, episode=episode, kind=kind, themes=theme or []))
    if as_json:
        return _dump({"results": [h.model_dump(mode="json") for h in hits]})
    if not hits:
        out.print("no results")
    for i, h in enumerate(hits, 1):
        where = f"{h.episode.title}" + (f" @ {h.start}" if h.start else "") + f"  ({h.source})"
        out.print(f"[bold]{i}.[/bold] [cyan]{h.speaker or h.kind.value}[/cyan] — {where}"
                  + (f"  [magenta]{', '.join(h.themes)}[/magenta]" if h.themes else ""))
        out.print(f"   {h.text[:400]}{'…' if len(h.text) > 400 else ''}\n", highlight=False)


@app.command()
def ask(question: str, k: K = 5, speaker: Speaker = None, episode: EpisodeOpt = None, kind: KindOpt = None,
        theme: ThemeOpt = None, as_json: JsonOpt = False) -> None:
    """An extractive answer with numbered citations (speaker, episode, timestamp)."""
    answer = _query_kb().ask(question, k, Filters(speaker=speaker, episode=episode, kind=kind, themes=theme or []))
    if as_json:
        return _dump(answer.model_dump(mode="json"))
    _print_answer(answer)


def _print_answer(answer) -> None:
    """The lead line, then each point as a quote under who said it, where and when; sources last."""
    from search.answer.compose import attribution

    if answer.abstained:
        out.print(answer.answer, highlight=False)
        if answer.reason:
            out.print(f"[dim]Why: {escape(answer.reason)}.[/dim]", highlight=False)
        if answer.near:  # the closest passages' best excerpts: whole content sentences, attributed
            out.print("\n[bold]Closest passages[/bold] [dim](they do not answer it)[/dim]:")
            for p in answer.near:
                out.print(f"- “{escape(p.text)}”", highlight=False)
                out.print(f"    [dim]— {escape(attribution(p.citation))}[/dim]", highlight=False)
        elif answer.closest:  # nothing in them could be quoted (greetings, thanks…): where they are
            out.print("\n[bold]Closest passages:[/bold]")
            for h in answer.closest[:3]:
                out.print(f"- {escape(h.speaker or h.kind.value)}, {escape(h.episode.title)}"
                          + (f" @ {h.start}" if h.start else ""), highlight=False)
        return
    if answer.generated:
        out.print(escape(answer.answer), highlight=False)
        out.print()
    out.print(f"[bold]{escape(answer.lead)}[/bold]", highlight=False)
    if answer.reason:
        out.print(f"[dim]{escape(answer.reason)}[/dim]", highlight=False)
    for p in answer.points:
        c = p.citation
        out.print(f"\n[bold cyan][{c.n}][/bold cyan] “{escape(p.text)}”", highlight=False)
        out.print(f"    [cyan]— {escape(attribution(c))}[/cyan]", highlight=False)
    out.print()
    for c in answer.citations:
        span = f"chars {c.quote_char_start}–{c.quote_char_end}" if c.quote_char_start is not None else \
            f"chars {c.char_start}–{c.char_end}"
        out.print(f"[dim][{c.n}] {escape(c.source)}, {span}[/dim]", highlight=False)


@app.command()
def episodes(as_json: JsonOpt = False) -> None:
    """Episodes and documents in the index."""
    eps = _kb().episodes()
    if as_json:
        return _dump([e.model_dump(mode="json") for e in eps])
    table = Table("id", "title", "kind", "speakers", "chunks")
    for e in eps:
        table.add_row(e.id, e.title, e.kind.value, ", ".join(e.speakers), str(e.chunks))
    out.print(table)


@app.command()
def stats(as_json: JsonOpt = False) -> None:
    """What the index holds and where it lives."""
    s = _kb().stats()
    if as_json:
        return _dump(s.model_dump())
    for key, value in s.model_dump().items():
        out.print(f"[bold]{key}[/bold]: {value}")


@app.command()
def serve(host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(min=1, max=65535)] = 8000) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from api.http import create_app

    # one thread also keeps a background re-index (POST /reindex) from starving the queries
    uvicorn.run(create_app(_query_kb()), host=host, port=port, log_level="warning")


@app.command("eval")
def evaluate(questions: Annotated[Path, typer.Argument(help="question file (JSON lines, the format of score.py)")],
             k: K = 10,
             mode: Annotated[Optional[str], typer.Option(help="retrieval mode for the search figures (default: "
                                                              "KB_SEARCH_MODE; answers always use KB_SEARCH_MODE)")] = None,
             no_ask: Annotated[bool, typer.Option("--no-ask", help="search figures only (faster)")] = False,
             as_json: JsonOpt = False) -> None:
    """Recall@k, MRR@10, speaker/time accuracy and abstention on a question set, computed in-process."""
    from api import evaluation
    from search.retrieval import Mode

    if mode is not None and mode not in {m.value for m in Mode}:
        err.print(f"[red]error:[/red] unknown mode {mode!r}; choose from {', '.join(m.value for m in Mode)}")
        raise typer.Exit(2)
    try:
        qs = evaluation.load_questions(questions)
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2)
    report = evaluation.evaluate(_query_kb(), qs, k, mode, ask=not no_ask)
    if as_json:
        return _dump(report)
    table = Table("figure", "overall", *report["by_category"],
                  title=f"{questions.name}: {len(qs)} questions, mode {report['mode']}, k={k}")
    for name in [n for n in report["overall"] if n != "n"]:
        table.add_row(name, str(report["overall"][name]), *(str(c.get(name, "")) for c in report["by_category"].values()))
    table.add_row("n", str(report["overall"]["n"]), *(str(c["n"]) for c in report["by_category"].values()))
    out.print(table)
    for name in ("search_latency_ms", "ask_latency_ms"):
        if name in report:
            out.print(f"{name}: p50 {report[name]['p50']}  max {report[name]['max']}")
    out.print(f"missed at {k}: {', '.join(report['missed']) or 'none'}")


@app.command()
def check(repair: Annotated[bool, typer.Option(help="rebuild a disagreeing FAISS index from the stored vectors")] = True,
          as_json: JsonOpt = False) -> None:
    """Verify the store (SQLite integrity, foreign keys, full-text rows, vectors) and that the FAISS index agrees
    with it; a stale or damaged index is rebuilt from stored vectors. Exit 1 when a problem remains."""
    kb = _kb(build=False)
    report = kb.backend.check(kb.embedder.name, repair)  # FAISS, or the versions published to Milvus
    if as_json:
        _dump(report.model_dump())
    else:
        for problem in report.store_problems:
            err.print(f"[red]store:[/red] {problem}")
        for problem in report.index_problems:
            err.print(f"[yellow]index:[/yellow] {problem}")
        verdict = "[green]ok[/green]" if report.ok else "[red]FAILED[/red]"
        out.print(f"{verdict}: {report.episodes} episodes, {report.chunks} chunks, {report.vectors} vectors, "
                  f"index version {report.index_version}, FAISS holds {report.index_vectors}"
                  + ("; FAISS rebuilt from stored vectors" if report.repaired else ""))
    if not report.ok:
        raise typer.Exit(1)


themes_app = typer.Typer(help="Themes (trust, letting go, ...): list them, show a theme's passages, retag.")
app.add_typer(themes_app, name="themes")


@themes_app.callback(invoke_without_command=True)
def themes(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every theme with its passage count, top episodes and speakers."""
    if ctx.invoked_subcommand is not None:
        return
    kb = _kb()
    items = kb.themes()
    if as_json:
        return _dump([t.model_dump(mode="json") for t in items])
    table = Table("theme", "passages", "top episodes", "top speakers")
    for t in items:
        table.add_row(f"[bold]{t.name}[/bold]\n[dim]{t.description}[/dim]", str(t.passages),
                      "\n".join(f"{e.name} ({e.count})" for e in t.episodes),
                      "\n".join(f"{s.name} ({s.count})" for s in t.speakers))
    out.print(table)
    if kb.themes_stale():
        err.print("[yellow]the taxonomy changed since passages were tagged; run `kb themes retag`[/yellow]")


@themes_app.command("show")
def themes_show(name: Annotated[str, typer.Argument(help="theme name, e.g. trust or letting-go")], k: K = 10,
                as_json: JsonOpt = False) -> None:
    """A theme's strongest passages, with the seed phrases that matched (why each is tagged)."""
    detail = _kb().theme(name, k)
    if as_json:
        return _dump(detail.model_dump(mode="json"))
    out.print(f"[bold]{detail.label}[/bold] — {detail.description} ({detail.passages} passages)")
    for i, h in enumerate(detail.top, 1):
        where = f"{h.episode.title}" + (f" @ {h.start}" if h.start else "")
        why = f"matched: {', '.join(h.matched)}" if h.matched else "by meaning"
        out.print(f"\n[bold]{i}.[/bold] [cyan]{h.speaker or h.kind.value}[/cyan] — {where}  "
                  f"[dim]score {h.score:.2f}; {why}[/dim]", highlight=False)
        out.print(f"   {h.text[:400]}{'…' if len(h.text) > 400 else ''}", highlight=False)


@themes_app.command("retag")
def themes_retag(as_json: JsonOpt = False) -> None:
    """Re-score every passage against the taxonomy (after editing it) from stored vectors: nothing is re-embedded."""
    report = _kb().retag_themes()
    if as_json:
        return _dump(report.model_dump())
    out.print(f"tagged {report.chunks} passages with {report.tags} theme tags from {report.taxonomy}; "
              f"re-embedded {report.embedded_chunks}")


def main() -> None:
    from search.lock import IngestLocked
    from search.taxonomy import TaxonomyError, UnknownTheme

    try:
        app()
    except IngestLocked as exc:  # refused, not queued: the caller decides whether to retry
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(3)
    except ReaderError as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(1)
    except (UnknownTheme, TaxonomyError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
    except RuntimeError as exc:
        from search.backend import BackendError  # imported only here: it pulls numpy, and `kb --help` must stay fast

        if not isinstance(exc, BackendError):
            raise
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
