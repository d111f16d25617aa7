"""`canalis store ...`: a thin layer over canalis.store.LocalStore."""
from __future__ import annotations

import functools
import sys

import click

from canalis.cli.common import DURATION, duration_help, fail_on_canalis_errors, json_option, print_json, workspace_option


def _store_errors(f):
    """Store errors become a one-line message: exit code 2 for a digest or prefix that names
    no blob (or several), 1 otherwise, like the face's own errors."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        from canalis.store.errors import StoreError

        from canalis.cli.errors import as_click_error

        try:
            return f(*args, **kwargs)
        except StoreError as e:
            raise as_click_error(e) from None

    return wrapper


def _common(f):
    return workspace_option(fail_on_canalis_errors(_store_errors(f)))


@click.group()
def store():
    """The content-addressed store: blobs, trees, snapshots, checkouts."""


@store.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@json_option
@_common
def put(file, as_json, layout):
    """Store FILE's content; print its digest."""
    st = layout.open_store()
    digest = st.put_file(file)
    if as_json:
        print_json({"digest": digest, "size": st.size(digest), "stored_bytes": st.stored_size(digest)})
    else:
        click.echo(digest)


@store.command()
@click.argument("digest")
@click.option("--verify/--no-verify", default=True, help="Check the digest while reading (default: on).")
@json_option
@_common
def cat(digest, verify, as_json, layout):
    """Write blob DIGEST's content to standard output (DIGEST: whole, or a unique prefix)."""
    st = layout.open_store()
    digest = st.resolve_prefix(digest)
    if as_json:
        data = st.get_bytes(digest, verify=verify)
        out = {"digest": digest, "size": len(data)}
        try:
            out["text"] = data.decode("utf-8")
        except UnicodeDecodeError:
            import base64

            out["base64"] = base64.b64encode(data).decode("ascii")
        print_json(out)
        return
    with st.open(digest, verify=verify) as f:
        out = sys.stdout.buffer
        while chunk := f.read(1 << 20):
            out.write(chunk)
        out.flush()


@store.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--no-ignore", is_flag=True, help="Do not honour .amlignore/.gitignore files.")
@json_option
@_common
def snapshot(directory, no_ignore, as_json, layout):
    """Store DIRECTORY as a tree; print the tree digest."""
    st = layout.open_store()
    r = st.snapshot(directory, ignore=not no_ignore, progress=not as_json)
    if as_json:
        print_json(
            {"tree": r.tree, "files": r.files, "bytes": r.bytes, "ignored": r.ignored,
             "hashed": r.hashed, "cached": r.cached, "skipped": r.skipped}
        )
    else:
        click.echo(r.tree)
        click.echo(
            f"{r.files} files, {r.bytes} bytes, {r.ignored} ignored, {r.hashed} read, {r.cached} from the stat cache",
            err=True,
        )


@store.command(name="ls")
@click.argument("tree")
@json_option
@_common
def ls_(tree, as_json, layout):
    """List the entries of TREE (a tree digest, whole or a unique prefix)."""
    st = layout.open_store()
    entries = st.get_tree(st.resolve_prefix(tree))
    if as_json:
        print_json([
            {"path": e.path, "type": e.type, "mode": f"{e.mode:o}", "size": e.size, "digest": e.digest}
            for e in entries
        ])
        return
    for e in entries:
        click.echo(f"{e.type:7} {e.mode:o} {e.size:>12} {e.digest} {e.path}")


@store.command()
@click.argument("tree")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--writable", is_flag=True, help="Write plain writable copies instead of read-only files.")
@json_option
@_common
def checkout(tree, directory, writable, as_json, layout):
    """Materialise TREE (a tree digest, whole or a unique prefix) into DIRECTORY (empty or missing)."""
    st = layout.open_store()
    tree = st.resolve_prefix(tree)
    st.checkout(tree, directory, readonly=not writable)
    if as_json:
        print_json({"tree": tree, "directory": directory, "files": len(st.get_tree(tree))})
    else:
        click.echo(f"checked out {tree} into {directory}")


deep_option = click.option(
    "--deep", "--read-data", "deep", is_flag=True,
    help="Also decompress and re-hash every blob and checkout-cache file (reads everything; default: structure only).",
)


@store.command()
@click.option("--repair", is_flag=True,
              help="Rebuild a damaged pack index, quarantine corrupt blobs and damaged packs, drop bad stat-cache "
                   "entries and checkout-cache files, remove old temp files.")
@click.option("--grace", "grace", type=DURATION, default="1h", show_default=True,
              help=duration_help("How old a temp file must be before --repair removes it."))
@deep_option
@json_option
@_common
def verify(repair, grace, deep, as_json, layout):
    """Check the store: every blob's header and length, the pack index against the packs,
    every tree's entry sizes against its blobs, the stat and checkout caches; with --deep
    also every blob's digest. Exit 1 if anything is wrong."""
    from canalis.cli.verify_output import store_lines, store_summary

    r = layout.open_store().verify(repair=repair, grace_seconds=grace, deep=deep)
    if as_json:
        print_json(r.as_dict())
    else:
        for line in store_lines(r.as_dict()):
            click.echo(line)
        click.echo(store_summary(r.as_dict()))
    if not r.ok:
        sys.exit(1)


@store.command()
@click.argument("tree")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--no-ignore", is_flag=True, help="Compare every file (as step outputs and datasets are stored); "
              "default: honour .amlignore/.gitignore, as source snapshots do.")
@json_option
@_common
def compare(tree, directory, no_ignore, as_json, layout):
    """Compare TREE with DIRECTORY as a snapshot would see it, storing nothing: every file is
    read and hashed. Exit 0 when they hold the same files, 1 when not, 2 when TREE names no
    tree (TREE: whole, or a unique prefix)."""
    from canalis.store.compare import compare as _compare

    st = layout.open_store()
    r = _compare(st, st.resolve_prefix(tree), directory, ignore=not no_ignore)
    if as_json:
        print_json(r)
    else:
        for d in r["differ"]:
            t, f = d["tree"], d["folder"]
            click.echo(f"differs {d['path']}: tree {t['type']} {t['mode']} {t['size']} {t['digest'][:12]}, "
                       f"folder {f['type']} {f['mode']} {f['size']} {f['digest'][:12]}")
        for p in r["only_in_tree"]:
            click.echo(f"only in the tree {p}")
        for p in r["only_in_folder"]:
            click.echo(f"only in the folder {p}")
        click.echo(f"{'same' if r['same'] else 'DIFFERENT'}: {r['files']} files in the folder")
    if not r["same"]:
        sys.exit(1)


@store.command()
@json_option
@_common
def stats(as_json, layout):
    """Objects, logical and stored bytes, compression ratio."""
    s = layout.open_store().stats()
    if as_json:
        print_json(s)
    else:
        for k in ("objects", "logical_bytes", "stored_bytes", "ratio", "packs"):
            click.echo(f"{k:14} {s[k]}")
