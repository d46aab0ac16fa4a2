"""`verity docs list|show|delete` and `verity collections list|delete`: what is filed, and removing it.

These read and change the catalog, the vector index and BM25 of the data directory (the default tenant)
and load no model: the index opens with the vector dimension recorded beside the catalog.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from app import kept_uploads
from app.cli_console import console
from app.container import Container
from app.preflight import NOTHING_EXIT, PreflightError, load_settings
from app.store_backends import has_catalog
from retrieval.types import DEFAULT_TENANT, Scope

docs_app = typer.Typer(
    help="Documents filed in the data directory: list, show, delete.", no_args_is_help=True
)
collections_app = typer.Typer(help="Collections of documents: list, delete.", no_args_is_help=True)
CHUNKS_SHOWN = 5


def _container() -> Container:
    """The container over the data directory; a `PreflightError` when nothing was ever ingested there."""
    settings = load_settings()
    if not has_catalog(settings):
        raise PreflightError(
            f"nothing is ingested in {settings.data_dir.resolve()} (VERITY_DATA_DIR)", NOTHING_EXIT
        )
    return Container(settings)


@docs_app.command("list")
def docs_list(
    collection: Annotated[str | None, typer.Option(help="only this collection")] = None,
) -> None:
    """The documents filed, oldest first: id, collection, title, source, chunks, when filed."""
    container = _container()
    documents = container.catalog.list_documents(Scope(DEFAULT_TENANT, collection))
    container.close()
    if not documents:
        where = f" in collection {collection!r}" if collection else ""
        console.print(f"no documents{where} in {container.settings.data_dir.resolve()}")
        return
    table = Table("id", "collection", "title", "source", "chunks", "filed", title_justify="left")
    for d in documents:
        table.add_row(d.id, d.collection, d.title, d.source_path, str(d.n_chunks), d.created_at)
    console.print(table)


@docs_app.command("show")
def docs_show(
    document_id: Annotated[str, typer.Argument(help="the document's id (verity docs list)")],
) -> None:
    """One document: where it came from, when it was filed, and its first chunks."""
    container = _container()
    document = container.catalog.get_document(DEFAULT_TENANT, document_id)
    if document is None:
        container.close()
        raise PreflightError(
            f"no document with id {document_id!r} (verity docs list shows them)", NOTHING_EXIT
        )
    chunks = [c for c in container.catalog.iter_chunks() if c.document_id == document_id]
    container.close()
    for label, value in (
        ("id", document.id),
        ("collection", document.collection),
        ("title", document.title),
        ("source", document.source_path),
        ("sha256", document.content_hash),
        ("filed", document.created_at),
        ("chunks", str(document.n_chunks)),
    ):
        console.print(f"[bold]{label}[/bold]: {value}", highlight=False)
    table = Table("#", "page", "section", "text", title=f"first {CHUNKS_SHOWN} chunks", title_justify="left")
    for c in chunks[:CHUNKS_SHOWN]:
        text = " ".join(c.text.split())
        table.add_row(
            str(c.ordinal), str(c.page or ""), c.section or "", text[:160] + ("…" if len(text) > 160 else "")
        )
    console.print(table)


@docs_app.command("delete")
def docs_delete(
    document_ids: Annotated[list[str], typer.Argument(help="ids of the documents to delete")],
) -> None:
    """Delete documents from the catalog, the vector index, BM25 and the embedding cache, in one step."""
    container = _container()
    unknown = [i for i in document_ids if container.catalog.get_document(DEFAULT_TENANT, i) is None]
    if unknown:
        container.close()
        raise PreflightError(
            f"no document with id {', '.join(map(repr, unknown))}; nothing deleted", NOTHING_EXIT
        )
    deleted = container.delete_documents(DEFAULT_TENANT, document_ids)
    kept_uploads.remove_kept(container.settings.uploads_dir, deleted)
    for document in deleted:
        console.print(f"deleted {document.id} ({document.source_path})", highlight=False)
    container.close()


@collections_app.command("list")
def collections_list() -> None:
    """Every collection with its document and chunk counts."""
    container = _container()
    collections = container.catalog.list_collections(DEFAULT_TENANT)
    container.close()
    if not collections:
        console.print(f"no collections in {container.settings.data_dir.resolve()}")
        return
    table = Table("collection", "documents", "chunks", title_justify="left")
    for c in collections:
        table.add_row(c.name, str(c.documents), str(c.chunks))
    console.print(table)


@collections_app.command("delete")
def collections_delete(
    name: Annotated[str, typer.Argument(help="the collection to delete, with all its documents")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Delete a collection and every document in it, in one step."""
    container = _container()
    documents = container.catalog.list_documents(Scope(DEFAULT_TENANT, name))
    if not documents:
        known = ", ".join(c.name for c in container.catalog.list_collections(DEFAULT_TENANT)) or "none"
        container.close()
        raise PreflightError(f"no collection named {name!r}; the collections are: {known}", NOTHING_EXIT)
    if not yes and not typer.confirm(f"delete collection {name!r} and its {len(documents)} documents?"):
        container.close()
        raise typer.Exit(1)
    deleted = container.delete_documents(DEFAULT_TENANT, [d.id for d in documents])
    uploads_dir = container.settings.uploads_dir
    kept_uploads.remove_kept(uploads_dir, deleted)
    kept_uploads.remove(uploads_dir, kept_uploads.collection_dir(uploads_dir, DEFAULT_TENANT, name))
    container.close()
    console.print(f"deleted collection {name!r} ({len(deleted)} documents)")


def mount(app: typer.Typer) -> None:
    """Add `docs` and `collections` to the `verity` command."""
    app.add_typer(docs_app, name="docs")
    app.add_typer(collections_app, name="collections")
