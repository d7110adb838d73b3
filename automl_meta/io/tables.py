"""Read CSV/TSV (optionally gzip/bz2/xz/zip compressed), parquet and ARFF files.

Text tables are decoded once (UTF-8 with or without BOM, Latin-1 as fallback),
their delimiter is sniffed among comma, semicolon, tab and pipe (the extension
breaks ties; with none of them, runs of spaces part the columns, as they do
when every line has runs of spaces and one TAB, UCI's auto-mpg layout), and the
first row is a header unless it reads as data (see :func:`_has_header`); a
header names every column (surrounding spaces dropped), save an empty last
field that every line ends with (a trailing delimiter).
``NA``, ``?``, ``NaN``, empty fields and ``inf`` all become missing.
In a table not delimited by commas, numbers may have a decimal comma
(``3,14``, as spreadsheets write them in many locales): when the first 50 lines
hold no number with a decimal point, the comma is read as the decimal mark,
in a column whose decimal commas come later too (see :func:`_late_decimal_commas`).
A zip archive is read as the one file it holds (a CSV, parquet or ARFF file,
by that file's suffix). A column of numbers with thousands separators
(``"1,234,567.5"``, or ``1.234,5`` where the comma is the decimal mark) is
read as numbers when every value is grouped correctly and the grouping is
unambiguous (see :func:`_ungroup`).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import itertools
import logging
import lzma
import re
import warnings
import zipfile
import zlib
from pathlib import Path

import pandas as pd

from automl_meta.dataset import INTEGER_TEXT, NA_VALUES, ZERO_LED_INTEGER, Dataset, is_text, make_dataset
from automl_meta.exceptions import DatasetError, UsageError

logger = logging.getLogger(__name__)

DELIMITERS = [",", ";", "\t", "|"]
WHITESPACE = r"\s+"  # pandas' separator for columns apart by runs of spaces or tabs
_COMPRESSED = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".data", ".dat", ".parquet", ".pq", ".arff")


def _strip_compression(path: Path) -> tuple[str, str | None]:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (*_COMPRESSED, ".zip"):
        return (suffixes[-2] if len(suffixes) > 1 else ""), suffixes[-1]
    return (suffixes[-1] if suffixes else ""), None


def is_table_file(path: Path) -> bool:
    """Whether ``path`` looks like a table this module reads (by its name)."""
    kind, _ = _strip_compression(path)
    return path.is_file() and kind in TABLE_SUFFIXES


def _raw_bytes(path: Path, compression: str | None) -> tuple[bytes, str | None]:
    """The file's bytes, decompressed, and for a zip archive the name of the one file it holds (else None)."""
    data = path.read_bytes()
    try:
        if compression == ".zip":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = [n for n in zf.namelist() if not n.endswith("/")]
                if len(names) != 1:
                    raise DatasetError(f"{path.name}: a zip archive must hold exactly one file, found {len(names)}")
                return zf.read(names[0]), names[0]
        if compression:
            return _COMPRESSED[compression](data), None
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile, zlib.error, ValueError) as exc:
        raise DatasetError(f"{path.name}: cannot decompress ({exc}); is the file complete?") from None
    return data, None


def _member_kind(member: str | None, kind: str) -> str:
    """The kind of table a zip archive holds: its file's own suffix when it names one (``data.zip`` holding
    ``data.arff`` is ARFF, not CSV), else the archive's (``d.csv.zip``)."""
    if member is None:
        return kind
    own, _ = _strip_compression(Path(member))
    return own if own in (*TABLE_SUFFIXES, *SPREADSHEET_SUFFIXES) else kind


def decode_text(data: bytes, name: str) -> str:
    """A text file's bytes as text: UTF-8 (a BOM dropped), else :func:`legacy_text`; binary content is refused."""
    sample = data[:65536]
    if b"\x00" in sample:
        raise DatasetError(f"{name}: unreadable bytes (binary content); give a CSV, TSV, parquet or ARFF file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = legacy_text(data)
    controls = sum(ch < " " and ch not in "\t\r\n" for ch in text[:65536])
    if controls > 0.01 * max(1, min(len(text), 65536)):
        raise DatasetError(f"{name}: unreadable bytes (not text in UTF-8, Windows-1252 or Latin-1)")
    return text


def legacy_text(data: bytes) -> str:
    """Bytes that are not UTF-8, as Excel on Windows writes them (Windows-1252: Latin-1 with printable characters such
    as ``€ – ’`` where Latin-1 has control codes), else Latin-1; a UTF-8 byte order mark before them is dropped."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # one of its five undefined bytes
        return data.decode("latin-1")


def _sniff_delimiter(text: str, kind: str) -> str:
    lines = text[:65536].splitlines()[:50]
    sample = "\n".join(lines)
    preferred = "\t" if kind in (".tsv", ".tab") else ","
    try:
        found = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        found = None
    if found is None:
        counts = {d: sample.count(d) for d in DELIMITERS}
        found = max(DELIMITERS, key=lambda d: (counts[d], d == preferred))
        if counts[found] == 0:  # none of them: columns apart by spaces (UCI .data files, R's write.table), else one column
            found = WHITESPACE if _spaces_part_the_columns(lines) else preferred
    if found == "\t" and _spaces_then_one_tab(lines):
        found = WHITESPACE
    return found


def _spaces_part_the_columns(lines: list[str]) -> bool:
    """Whether a table with none of :data:`DELIMITERS` has columns apart by spaces: its first line has two or more fields.

    A first line of one field is a one-column table, whose values may hold
    spaces (``city`` above ``New York``): read apart, its rows would have
    more fields than its header.
    """
    first = next((line for line in lines if line.strip()), "")
    return len(first.split()) > 1


_RUN_OF_SPACES = re.compile(r"\S {2,}\S")


def _spaces_then_one_tab(lines: list[str]) -> bool:
    """UCI's auto-mpg layout: every line has values apart by runs of spaces, then one TAB before a (quoted) name.

    The sniffer sees the TAB as the delimiter and reads one column of numbers
    apart by spaces; runs of spaces in every line say the spaces part the
    columns too, as ``--sep whitespace`` reads them.
    """

    def spaces_then_a_tab(line: str) -> bool:
        before, tab, after = line.partition("\t")
        return bool(tab) and "\t" not in after and _RUN_OF_SPACES.search(before) is not None

    present = [line for line in lines if line.strip()]
    return bool(present) and all(spaces_then_a_tab(line) for line in present)


_EXCEL_SEP_LINE = re.compile(r"sep=(\S)[ \t]*(?:\r\n|\r|\n)")


def _first_rows(text: str, sep: str, n: int = 50) -> list[list[str]]:
    """The fields of the first ``n`` rows, for sniffing: csv's reading, apart by runs of whitespace for :data:`WHITESPACE`.

    Lines may end in LF, CRLF or CR alone (classic Mac OS), as pandas reads
    them: hence ``newline=""``, which csv asks for. Quoted fields hold
    spaces in a whitespace-delimited table too (``"ford torino"``).
    """
    sample = io.StringIO(text[:65536], newline="")
    if sep == WHITESPACE:
        lines = (line.strip().replace("\t", " ") for line in sample)
        rows = csv.reader(lines, delimiter=" ", skipinitialspace=True)
    else:
        rows = csv.reader(sample, delimiter=sep)
    return list(itertools.islice(rows, n))


def _is_number(field: str, decimal: str = ".", thousands: str | None = None) -> bool:
    if thousands:
        field = field.replace(thousands, "")
    try:
        float(field.replace(decimal, ".") if decimal != "." else field)
    except ValueError:
        return False
    return True


def _has_header(rows: list[list[str]], decimal: str = ".", thousands: str | None = None) -> bool:
    """Whether the first row names the columns, judged on the first rows (up to 50, :func:`_first_rows`).

    It does not when it reads as data: every field a number (unless one
    heads a column of text alone that never repeats it), or, like
    ``5.1,3.5,Iris-setosa`` in UCI's header-less files, a number (or a missing
    value) in every column whose other values are numbers and, in every other
    column, a value that recurs below it. A name makes a header: ``age`` above
    numbers, ``country`` above countries that never repeat it (even beside
    columns named ``1990`` and ``1991``). A first row of the column positions
    ``0,1,2,...`` (three or more), what ``DataFrame(array).to_csv()`` writes,
    is a header too.
    """
    first = rows[0] if rows else []
    if not first:
        return True

    def number(field: str) -> bool:
        return _is_number(field.strip(), decimal, thousands)

    def missing(field: str) -> bool:
        return field.strip() == "" or field.strip() in NA_VALUES

    if len(first) >= 3 and [f.strip() for f in first] == [str(j) for j in range(len(first))]:
        return True  # 0,1,2,...: the column positions pandas and NumPy write as a header, not a data row
    rest = [row for row in rows[1:] if len(row) == len(first)]
    if all(number(f) for f in first if f.strip() != ""):
        # data, unless a number stands above a column of text alone that never repeats it: that number names it
        return any(not missing(field) and _names_a_text_column(field, [row[j] for row in rest if not missing(row[j])], number)
                   for j, field in enumerate(first))
    if not rest:
        return True
    for j, field in enumerate(first):
        below = [row[j] for row in rest if not missing(row[j])]
        if below and all(number(v) for v in below):
            if not (number(field) or missing(field)):
                return True  # a name above numbers
        elif field.strip() not in {v.strip() for v in below}:
            return True  # a text value found nowhere below: a name
    return False


def _names_a_text_column(field: str, below: list[str], number) -> bool:
    """Whether a number heading a column names it: no value below it is a number, and none is this one."""
    return bool(below) and not any(number(v) for v in below) and field.strip() not in {v.strip() for v in below}


_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d*,\d+(?:[eE][-+]?\d+)?\s*$")
_DECIMAL_POINT = re.compile(r"^\s*[-+]?\d*\.\d+(?:[eE][-+]?\d+)?\s*$")
_DIGITS_AND_MARKS = re.compile(r"^\s*[-+]?[\d.,]*\d[\d.,]*\s*$")
# a number with thousands separator t: 1-3 leading digits (no leading zero), groups of 3, maybe a decimal part
_GROUPED = {
    ",": re.compile(r"^\s*[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?\s*$"),
    ".": re.compile(r"^\s*[-+]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?\s*$"),
}
# ... that could not be a plain decimal number: two or more groups, or a decimal part after the groups
_SURELY_GROUPED = {
    ",": re.compile(r"^\s*[-+]?[1-9]\d{0,2}(?:(?:,\d{3}){2,}(?:\.\d+)?|(?:,\d{3})+\.\d+)\s*$"),
    ".": re.compile(r"^\s*[-+]?[1-9]\d{0,2}(?:(?:\.\d{3}){2,}(?:,\d+)?|(?:\.\d{3})+,\d+)\s*$"),
}


def _sniff_numbers(rows: list[list[str]], sep: str) -> tuple[str, str | None]:
    """``(decimal, thousands)`` marks of the numbers in the first rows (:func:`_first_rows`).

    A thousands separator is taken when every number-like field that holds it
    is grouped by it (``1,234,567``; ``12,345.5``), and, since ``1,234`` may
    also be a decimal comma and ``1.234`` a decimal point, when some field
    could not be read otherwise (two or more groups, or groups then a decimal
    part). Only in a comma-delimited file, where a quoted ``"1,234"`` cannot
    be a decimal comma of the comma-delimited locales, is one group enough.
    Otherwise the decimal mark is sniffed as before (``,`` when numbers like
    ``3,14`` appear and none like ``3.14``, never with a comma delimiter).
    """
    fields = [f for row in rows for f in row]
    numbers = [f for f in fields if _DIGITS_AND_MARKS.match(f)]
    for mark, decimal in ((",", "."), (".", ",")):
        grouped = [f for f in numbers if mark in f]
        if not grouped or not all(_GROUPED[mark].match(f) for f in grouped):
            continue
        if (sep == "," and mark == ",") or any(_SURELY_GROUPED[mark].match(f) for f in grouped):
            return decimal, mark
    if sep == ",":
        return ".", None
    comma = any(_DECIMAL_COMMA.match(f) for f in fields)
    return ("," if comma and not any(_DECIMAL_POINT.match(f) for f in fields) else "."), None


def _read_text_table(text: str, kind: str, sep: str | None, name: str) -> pd.DataFrame:
    if not text.strip():
        raise DatasetError(f"{name}: the file is empty")
    hint = _EXCEL_SEP_LINE.match(text)
    if hint:  # Excel's "sep=;" first line names the delimiter
        sep, text = sep or hint.group(1), text[hint.end():]
    sep = sep or _sniff_delimiter(text, kind)
    try:
        rows = _first_rows(text, sep)  # read once for both sniffs
    except csv.Error as exc:
        raise DatasetError(f"{name}: cannot split the first lines into fields with delimiter {sep!r} ({exc})", fix="sep") from None
    decimal, thousands = _sniff_numbers(rows, sep)
    header = 0 if _has_header(rows, decimal, thousands) else None
    if header == 0:  # pandas renames a repeated name (a, a.1): say so, since the file has no column a.1
        names = [f.strip() for f in rows[0] if f.strip()]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            logger.warning("%s: column names repeat in the header (%s); the later ones are read as %s",
                           name, ", ".join(map(repr, repeated)), ", ".join(repr(f"{n}.1") for n in repeated))
    frame = _parse(text, sep, decimal, header, name, rows)
    frame = _codes_with_leading_zeros(frame, text, sep, header)
    if header is None:
        frame.columns = [f"col_{i}" for i in range(frame.shape[1])]
    else:  # "class | x1" names 'class', not 'class ': the default target and --target find it
        frame.columns = [c.strip() if isinstance(c, str) else c for c in frame.columns]
    frame = _ungroup(frame, decimal, sep)
    if sep != "," and (decimal, thousands) == (".", None) and not any(_DECIMAL_POINT.match(f) for row in rows for f in row):
        frame = _late_decimal_commas(frame)
    return frame


def _parse(text: str, sep: str, decimal: str, header: int | None, name: str, rows: list[list[str]]) -> pd.DataFrame:
    """pandas' reading of the table, which never takes the first fields of a row as an index.

    Given rows with more fields than the header, pandas would make the
    first of them an index and shift every column (``index_col=None``), or
    drop the last ones with a warning (``index_col=False``); both lose a
    column unseen, so either is an error here. One empty field more, at the
    end of every line (a trailing delimiter), is read as pandas reads it
    with ``index_col=False``: dropped.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                decimal=decimal,
                header=header,
                index_col=False,
                na_values=NA_VALUES,
                keep_default_na=False,
                skipinitialspace=True,
                quotechar='"',
                low_memory=False,
            )
        except (pd.errors.ParserError, ValueError) as exc:
            message = str(exc).splitlines()[0]
            raise DatasetError(f"{name}: cannot parse as a table with delimiter {sep!r} ({message})", fix="sep") from None
    for warning in caught:
        if issubclass(warning.category, pd.errors.ParserWarning) and "Length of header" in str(warning.message):
            widest = max((len(row) for row in rows[1:]), default=0)
            fields = f"{widest} fields" if widest > frame.shape[1] else "more fields"
            raise DatasetError(f"{name}: the header names {frame.shape[1]} columns but data rows hold {fields}; "
                               "name every column in the header, or give the right delimiter", fix="sep")
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return frame


_MAYBE_LEADING_ZERO = re.compile(r"(?<![\w.+-])0\d")  # a zero then a digit, not inside a number, word or exponent (1e-05)
_INTEGER = re.compile(INTEGER_TEXT)
_ZERO_LED_INTEGER = re.compile(ZERO_LED_INTEGER)


def _codes_with_leading_zeros(frame: pd.DataFrame, text: str, sep: str, header: int | None) -> pd.DataFrame:
    """Columns of integers written with a leading zero somewhere (``007``, ``02139``) as text: codes, not quantities.

    pandas reads ``007`` as 7, so class codes came back from ``predict`` as
    ``7``, and ``7`` and ``007`` became one class. A numeric column stays
    text, exactly as written, when every present value is an integer and at
    least one has a leading zero; ``0``, ``10`` and ``0.5`` are numbers as
    before. The numeric columns' fields are read a second time only when the
    text holds a zero followed by a digit that starts a field (times such as
    10:05 do too; they cost the second reading, nothing else). A signed
    ``-007`` is the number -7.
    """
    numeric = [i for i, dtype in enumerate(frame.dtypes)
               if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)]
    if not numeric or not _MAYBE_LEADING_ZERO.search(text):
        return frame
    raw = pd.read_csv(io.StringIO(text), sep=sep, header=header, index_col=False, usecols=numeric, dtype=str,
                      na_values=NA_VALUES, keep_default_na=False, skipinitialspace=True, quotechar='"', low_memory=False)
    for position, values in zip(numeric, (raw.iloc[:, k] for k in range(raw.shape[1]))):
        present = values.dropna()
        if present.str.fullmatch(_ZERO_LED_INTEGER).any() and present.str.fullmatch(_INTEGER).all():
            frame.isetitem(position, values.str.strip())
    return frame


_LATE_DECIMAL_COMMA = re.compile(r"\s*[-+]?(?:\d+|\d*,\d+)(?:[eE][-+]?\d+)?\s*")


def _late_decimal_commas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns of integers and decimal-comma numbers (``183,5``) as numbers, where the first lines showed no decimal mark.

    When the first 50 lines hold no number with a decimal point, the comma
    is the decimal mark, as README says, though the first decimal comma may
    come later than those lines (a price column of whole numbers, then
    ``183,5``). Only a column whose every present value is an integer or has
    one decimal comma is converted: grouped thousands (``1,234,567``), which
    :func:`_ungroup` reads, never reach here as text, and ``1,234`` reads
    1.234, as it does within the first lines (see :func:`_sniff_numbers`).
    """
    for column in frame.columns:
        values = frame[column]
        if not is_text(values):
            continue
        present = values.dropna().astype(str)
        if present.empty or not present.head(32).str.fullmatch(_LATE_DECIMAL_COMMA).all():  # cheap: text columns stop here
            continue
        if not present.str.contains(",", regex=False).any() or not present.str.fullmatch(_LATE_DECIMAL_COMMA).all():
            continue
        frame[column] = pd.to_numeric(present.str.replace(",", ".", regex=False)).reindex(values.index)
    return frame


def _ungroup(frame: pd.DataFrame, decimal: str, sep: str) -> pd.DataFrame:
    """Text columns whose every present value is a number, some with thousands separators, as numbers.

    Checked column by column, whatever the first lines showed: a price column
    may reach ``"1,299.00"`` only after its first hundred rows. The separator
    is the mark that is not the decimal one; a column is converted when every
    value is grouped correctly or plain, and, where one group (``1,234``)
    could be a decimal comma, when some value could not be (see
    :func:`_sniff_numbers`). pandas' own ``thousands=`` drops the mark wherever
    it stands (``"1,2"`` becomes 12), hence the check.
    """
    mark = "," if decimal == "." else "."
    number = re.compile(
        rf"\s*[-+]?(?:[1-9]\d{{0,2}}(?:{re.escape(mark)}\d{{3}})+|\d+)(?:{re.escape(decimal)}\d+)?\s*"
    )
    one_group_is_enough = (sep == "," and mark == ",") or decimal == ","
    for column in frame.columns:
        values = frame[column]
        if not is_text(values):
            continue
        present = values.dropna().astype(str)
        if present.empty or not present.head(32).str.match(_DIGITS_AND_MARKS).all():  # cheap: text columns stop here
            continue
        marked = present.str.contains(mark, regex=False)
        if not marked.any() or not present.str.fullmatch(number).all():
            continue
        if not one_group_is_enough and not present[marked].str.match(_SURELY_GROUPED[mark]).any():
            continue
        plain = present.str.replace(mark, "", regex=False).str.replace(decimal, ".", regex=False)
        frame[column] = pd.to_numeric(plain).reindex(values.index)
    return frame


# an ARFF DATE attribute, which liac-arff cannot parse: read as text (ISO 8601 values then become date parts)
_ARFF_DATE = re.compile(r"""^(\s*@attribute\s+('[^']*'|"[^"]*"|\S+)\s+)date\b.*$""", re.IGNORECASE | re.MULTILINE)


def _read_arff(text: str, name: str) -> pd.DataFrame:
    import arff  # liac-arff, which openml-python uses too

    header_end = re.search(r"^\s*@data\b", text, re.IGNORECASE | re.MULTILINE)
    if header_end is not None:
        text = _ARFF_DATE.sub(r"\1string", text[: header_end.start()]) + text[header_end.start():]
    try:
        decoded = arff.loads(text)
    except Exception as exc:  # liac-arff raises many private error types
        raise DatasetError(f"{name}: not a valid ARFF file ({exc})") from None
    columns = [attr[0] for attr in decoded["attributes"]]
    frame = pd.DataFrame(decoded["data"], columns=columns)
    for column, kind in decoded["attributes"]:
        if isinstance(kind, list):  # nominal, {1,2,...,26} too: categories, never numbers (see make_dataset)
            frame[column] = pd.Categorical(frame[column], categories=list(dict.fromkeys(kind)))
    return stripped_names(frame)


SEP_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " ", "whitespace": WHITESPACE}


def resolve_sep(sep: str | None) -> str | None:
    """A ``--sep`` value as one character: itself, or a name (``tab``, ``semicolon``, ...) or ``\\t`` as typed in a shell."""
    if sep is None:
        return None
    resolved = SEP_NAMES.get(sep.lower(), sep)
    if len(resolved) != 1 and resolved != WHITESPACE:
        raise UsageError(f"--sep must be one character or one of {', '.join(SEP_NAMES)}, got {sep!r}")
    return resolved


def read_table(path: str | Path, sep: str | None = None) -> pd.DataFrame:
    """Read a data file into a raw DataFrame (no type conversion beyond parsing)."""
    sep = resolve_sep(sep)
    path = Path(path)
    name = path.name
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    if path.is_dir():
        raise DatasetError(f"{path}: is a folder; give a data file")
    if not path.is_file():  # a pipe reads once and has no size: every pass over the data (sniffing, hashing) needs a file
        raise DatasetError(f"{path}: not a regular file (a pipe, socket or device); save the data to a file and give its path")
    if path.stat().st_size == 0:
        raise DatasetError(f"{name}: the file is empty")
    kind, compression = _strip_compression(path)
    if kind in (".parquet", ".pq") and compression is None:
        return _read_parquet(path, name)
    data, member = _raw_bytes(path, compression)
    kind = _member_kind(member, kind)
    if member is not None:
        name = f"{name}:{member}"
    if kind in SPREADSHEET_SUFFIXES:
        raise DatasetError(f"{name}: spreadsheet workbooks are not read; save the sheet as CSV (or parquet) and pass that")
    if kind in (".parquet", ".pq"):
        return _read_parquet(io.BytesIO(data), name)
    text = decode_text(data, name)
    if kind == ".arff":
        return _read_arff(text, name)
    return _read_text_table(text, kind, sep, name)


def _read_parquet(source, name: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(source)
    except MemoryError:
        raise
    except Exception as exc:  # pyarrow raises its own hierarchy
        if type(exc).__name__ == "ArrowMemoryError":  # the machine, not the file: a runtime failure, as a MemoryError
            raise MemoryError(f"reading {name} as parquet: {exc}") from None
        raise DatasetError(f"{name}: cannot read as parquet ({exc})") from None
    return stripped_names(frame)


def stripped_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Column names without surrounding spaces, as a text table's header is read ('Target ' is 'Target'), except where
    that would give two columns one name."""
    names = [c.strip() if isinstance(c, str) else c for c in frame.columns]
    if names != list(frame.columns) and len(set(names)) == len(set(frame.columns)):
        frame.columns = names
    return frame


def load_dataset(
    path: str | Path,
    target: str | None = None,
    task: str = "auto",
    sep: str | None = None,
    name: str | None = None,
    day_first: bool | None = None,
) -> Dataset:
    """Read ``path`` and check it as a learning problem (see :func:`make_dataset`, also for ``day_first``)."""
    path = Path(path)
    frame = read_table(path, sep=sep)
    return make_dataset(frame, target=target, task=task, name=name or table_name(path), day_first=day_first)


def table_name(path: str | Path) -> str:
    """A data file's dataset name: its name without any suffix (``iris.data.csv`` -> ``iris``), else the whole name."""
    path = Path(path)
    name = path.name
    for suffix in reversed(path.suffixes):
        name = name[: -len(suffix)] if name.endswith(suffix) else name
    return name or path.name
