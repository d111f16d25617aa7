"""The human-readable output of `canalis verify` and `canalis store verify`, from the same
dictionaries their `--json` prints (docs/cli-json.md)."""
from __future__ import annotations

from canalis.cli.common import short_digest

DEEP_HINT = "structure only; --deep also re-hashes every blob"


def store_lines(st: dict, indent: str = "") -> list[str]:
    """One line per problem the store check found, and per repair made."""
    out = []
    for d in st["corrupt"]:
        out.append(f"{indent}corrupt {d}: {st['reasons'].get(d, '')}")
    for p in st["damaged_packs"]:
        out.append(f"{indent}damaged pack {p}: {st['reasons'].get(p, '')}")
    for i in st["index_damaged"]:
        out.append(f"{indent}damaged pack index: {i['pack']}: {i['reason']}")
    if st["index_rebuilt"]:
        out.append(f"{indent}rebuilt the pack index from the packs")
    for t in st["faulty_trees"]:
        out.append(f"{indent}faulty tree {t['tree']}: {len(t['entries'])} entries disagree with their blobs")
        out += [f"{indent}  {e['path']}: declares {e['declared']} bytes, its blob {short_digest(e['digest'])} holds {e['actual']}"
                for e in t["entries"]]
    for e in st["stat_cache"]:
        out.append(f"{indent}stat-cache entry {e['path']}: the file had {e['declared']} bytes, "
                   f"its blob {short_digest(e['digest'])} holds {e['actual']}")
    if st["stat_cache_dropped"]:
        out.append(f"{indent}dropped {st['stat_cache_dropped']} stat-cache entries (those files are read again at the next snapshot)")
    for p in st["temp_files"]:
        out.append(f"{indent}temp file {p}")
    for p in st["cache_corrupt"]:
        out.append(f"{indent}modified checkout-cache file {p}")
    for p in st["removed"]:
        out.append(f"{indent}removed {p}")
    return out


def store_summary(st: dict) -> str:
    mode = "deep: every blob re-hashed" if st["deep"] else DEEP_HINT
    return f"{'ok' if st['ok'] else 'PROBLEMS'}: {st['checked']} blobs, {st['trees']} trees checked ({mode})"


def _store_headline(st: dict) -> str:
    problems = []
    for key, what in (("corrupt", "corrupt blob(s)"), ("damaged_packs", "damaged pack(s)"),
                      ("index_damaged", "pack(s) the pack index places wrongly"), ("faulty_trees", "faulty tree(s)"),
                      ("stat_cache", "bad stat-cache entries"), ("cache_corrupt", "modified checkout-cache file(s)")):
        if st[key]:
            problems.append(f"{len(st[key])} {what}")
    state = "ok" if st["ok"] else ", ".join(problems) or "PROBLEMS"
    mode = "deep" if st["deep"] else DEEP_HINT
    return f"store: {state} ({st['checked']} objects, {st['trees']} trees; {mode})"


def _used_by(u: dict) -> str:
    if u["step_run_ids"]:
        return f"{u['why']} (step run {', '.join(u['step_run_ids'])})"
    return u["why"]


def workspace_lines(result: dict) -> list[str]:
    led, st = result["ledger"], result["store"]
    out = [f"ledger: {'ok' if led['ok'] else 'BROKEN at seq ' + str(led['first_bad_seq']) + ': ' + str(led['reason'])}"
           f" ({led['checked']} events)", _store_headline(st)]
    out += store_lines({**st, "faulty_trees": []}, indent="  ")
    for t in result["faulty_trees"]:
        out.append(f"  faulty tree {t['tree']}: {len(t['entries'])} entries disagree with their blobs")
        out += [f"    {e['path']}: declares {e['declared']} bytes, its blob {short_digest(e['digest'])} holds {e['actual']}"
                for e in t["entries"]]
        out += [f"    used by {_used_by(u)}" for u in t["used_by"]] or ["    used by nothing the ledger names"]
    a = result["affected"]
    if result["faulty_trees"]:
        out.append(f"  affected: {len(a['runs'])} run(s), {len(a['step_runs'])} step run(s), "
                   f"datasets {', '.join(a['datasets']) or 'none'}, models {', '.join(a['models']) or 'none'}; "
                   "see docs/release-notes.md to re-snapshot them")
    out.append(f"references: {result['references']} checked, {len(result['missing'])} missing")
    out += [f"  missing {m['digest']} ({m['why']})" for m in result["missing"]]
    return out
