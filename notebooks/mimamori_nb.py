"""What the notebooks share: run SQL through mimamori's policy gateway and read what it released.

A notebook never opens the workspace's Parquet files itself. Each `release()` runs
`mimamori query --format parquet`, so the query is planned, checked by the policy (roles,
purposes, minimum group size, row filters) and written to the audit log like any other; DuckDB
then reads only the released file.

Settings come from the environment (``notebooks/run`` sets them):

- ``MIMAMORI_WORKSPACE``: the workspace (required);
- ``MIMAMORI``: the mimamori binary (default: ``target/release/mimamori`` of this checkout, else
  ``mimamori`` on the PATH);
- ``MIMAMORI_USER`` (default ``officer``) and ``MIMAMORI_PURPOSE`` (default ``child_outreach``);
- ``MIMAMORI_RELEASED``: where released files go (default ``released/`` beside the notebooks).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent


class QueryError(RuntimeError):
    """The query did not run (SQL that does not plan, a table the workspace lacks, ...)."""


class Denied(QueryError):
    """The gateway refused the query; the message says why (and the audit log holds it)."""


def _binary() -> str:
    explicit = os.environ.get("MIMAMORI")
    if explicit:
        return explicit
    local = HERE.parent / "target" / "release" / "mimamori"
    if local.is_file():
        return str(local)
    found = shutil.which("mimamori")
    if found:
        return found
    raise FileNotFoundError("mimamori binary not found: build it (cargo build --release) or set MIMAMORI")


def workspace() -> Path:
    ws = os.environ.get("MIMAMORI_WORKSPACE")
    if not ws:
        raise RuntimeError("set MIMAMORI_WORKSPACE to a workspace (mimamori demo --out DIR writes DIR/workspace)")
    return Path(ws)


def released_dir() -> Path:
    d = Path(os.environ.get("MIMAMORI_RELEASED", HERE / "released"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def release(name: str, sql: str, purpose: str | None = None, user: str | None = None) -> Path:
    """Runs `sql` through the gateway and returns the released Parquet file (`name`.parquet).

    Raises `Denied` with the gateway's reason when the query is refused.
    """
    out = released_dir() / f"{name}.parquet"
    cmd = [
        _binary(), "query",
        "--workspace", str(workspace()),
        "--user", user or os.environ.get("MIMAMORI_USER", "officer"),
        "--purpose", purpose or os.environ.get("MIMAMORI_PURPOSE", "child_outreach"),
        "--format", "parquet", "--out", str(out),
        sql,
    ]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode == 2:
        raise Denied(run.stderr.strip())
    if run.returncode != 0:
        raise QueryError(f"mimamori query failed ({run.returncode}): {run.stderr.strip()}")
    # how the gateway rewrote the query (e.g. cells under k withheld) is on stderr, and in the
    # audit log; keep it beside the file for whoever wants to read it
    out.with_suffix(".rewrites.txt").write_text(run.stderr, encoding="utf-8")
    return out


def sql(query: str, **tables):
    """DuckDB over released files: each keyword becomes a view of that Parquet file (or of a
    pandas DataFrame made from released files)."""
    con = duckdb.connect()
    for view, source in tables.items():
        if isinstance(source, (str, Path)):
            quoted = str(source).replace("'", "''")
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{quoted}')")
        else:
            con.register(view, source)
    return con.execute(query).df()


def japanese_font() -> None:
    """Uses a CJK font for district names in charts when the machine has one."""
    import matplotlib
    from matplotlib import font_manager

    for name in ("Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "Hiragino Sans"):
        if any(f.name == name for f in font_manager.fontManager.ttflist):
            matplotlib.rcParams["font.family"] = name
            return
    import warnings

    warnings.filterwarnings("ignore", message="Glyph .* missing from font")


def indicators(use: str = "feature") -> list[dict]:
    """The indicators a scoring uses (their SQL headers: name, label, department, use), from this
    checkout's ``risk-model/indicators`` and the workspace's own ``risk/indicators`` (which
    replace shipped ones of the same name). Code, not data: nothing here reads a record."""
    found: dict[str, dict] = {}
    for folder in (HERE.parent / "risk-model" / "indicators", workspace() / "risk" / "indicators"):
        if not folder.is_dir():
            continue
        for f in sorted(folder.glob("*.sql")):
            header = {}
            for line in f.read_text(encoding="utf-8").splitlines():
                if not line.startswith("--"):
                    break
                key, _, value = line[2:].strip().partition(":")
                header[key.strip()] = value.strip()
            if "indicator" in header:
                found[header["indicator"]] = header
    return [h for h in found.values() if use in [u.strip() for u in h.get("use", "").split(",")]]


def available(table: str, columns: list[str]) -> list[str]:
    """The columns of `columns` that `table` has (one gateway query each, logged like any)."""
    have = []
    for c in columns:
        try:
            release(f"probe_{table.replace('.', '_')}_{c}", f'SELECT count(*) AS n FROM {table} WHERE "{c}" IS NOT NULL')
            have.append(c)
        except QueryError:
            pass
    return have
