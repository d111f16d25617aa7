"""`TabularDataset`: delimited or parquet files read as one table (pandas/pyarrow)."""
from __future__ import annotations

import random

from canalis.data.abstract_dataset import AbstractDataset
from canalis.exceptions import UserErrorException


class TabularDataset(AbstractDataset):
    kind = "tabular"

    def _open_files(self):
        """The files to read: those ending in `file_extension` when the options name one."""
        ext = self._options.get("file_extension")
        files = super()._open_files()
        if not ext:
            return files
        kept = [(rel, f) for rel, f in files if rel.endswith(ext)]
        for rel, f in files:
            if not rel.endswith(ext):
                f.close()
        return kept

    def to_pandas_dataframe(self, on_error="null", out_of_range_datetime="null"):
        import pandas as pd

        frames = []
        for rel, f in self._open_files():
            with f:
                frames.append(self._read(rel, f))
        if not frames:
            ext = self._options.get("file_extension")
            hint = (f"; it reads only files ending in {ext!r}: pass file_extension=None to read every file "
                    "(an output written as one file has no extension)") if ext else ""
            raise UserErrorException(f"{self!r} holds no file to read{hint}")
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        for op in self._options.get("transforms", []):
            df = _apply(df, op)
        return df.reset_index(drop=True)

    def _read(self, rel, f):
        import pandas as pd

        fmt = self._options.get("format", "delimited")
        if fmt == "parquet":
            return pd.read_parquet(arrow_reader(f))
        header = self._options.get("header", True)
        kwargs = {"sep": self._options.get("separator", ","), "header": 0 if header else None}
        if not self._options.get("infer_column_types", True):
            kwargs["dtype"] = str
        df = pd.read_csv(f, **kwargs)
        for col, typ in (self._options.get("set_column_types") or {}).items():
            df[col] = df[col].astype(typ)
        return df

    def _with(self, op):
        opts = dict(self._options)
        opts["transforms"] = [*opts.get("transforms", []), op]
        return self._copy(options=opts, registration=None)

    def take(self, count):
        return self._with(["take", int(count)])

    def skip(self, count):
        return self._with(["skip", int(count)])

    def take_sample(self, probability, seed=None):
        return self._with(["sample", float(probability), seed])

    def random_split(self, percentage, seed=None):
        if not 0 < percentage < 1:
            raise UserErrorException(f"random_split percentage must be between 0 and 1, got {percentage}")
        seed = 0 if seed is None else int(seed)
        return self._with(["split", float(percentage), seed, 0]), self._with(["split", float(percentage), seed, 1])

    def keep_columns(self, columns, validate=False):
        return self._with(["keep", list(columns) if not isinstance(columns, str) else [columns]])

    def drop_columns(self, columns):
        return self._with(["drop", list(columns) if not isinstance(columns, str) else [columns]])


def _apply(df, op):
    kind = op[0]
    if kind == "take":
        return df.head(op[1])
    if kind == "skip":
        return df.iloc[op[1]:]
    if kind == "keep":
        return df[op[1]]
    if kind == "drop":
        return df.drop(columns=op[1])
    if kind == "sample":
        return df.sample(frac=op[1], random_state=op[2])
    if kind == "split":
        _, pct, seed, part = op
        rng = random.Random(seed)
        mask = [rng.random() < pct for _ in range(len(df))]
        return df[mask] if part == 0 else df[[not m for m in mask]]
    raise UserErrorException(f"unknown dataset transformation {op!r}")


def arrow_reader(f):
    """A reader over the bytes of binary stream `f`, copied into Arrow's own memory, for
    pyarrow to parse a Parquet file from. pyarrow seeks to a Parquet file's footer, which a
    stored blob's stream (decompressed as it is read) cannot do. And given a Python file
    object (or a buffer of Python bytes), pyarrow keeps a reference to it that its scanner's
    worker threads may drop after the interpreter has begun to exit; taking the GIL then ends
    the process with SIGABRT ("terminate called without an active exception"), about one
    process in sixty here, so a step that had done its work failed. Memory that Arrow owns
    needs no GIL to be freed."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    while chunk := f.read(1 << 20):
        sink.write(chunk)
    return pa.BufferReader(sink.getvalue())
