"""A tabular learning problem, checked and profiled: no file I/O here.

``make_dataset`` turns a raw :class:`pandas.DataFrame` into a :class:`Dataset`
with a feature frame in a fixed convention that every other module relies on:

* numeric columns are ``float64`` with ``NaN`` for missing values (``inf`` too);
* categorical columns (strings, booleans, integers with at most
  ``MAX_INT_CATEGORIES`` distinct values, and pandas ``category`` columns,
  such as ARFF nominal attributes and parquet dictionary columns, whatever
  their labels: ``{1,2,...,26}`` stays 26 categories) are ``object`` columns
  of ``str`` (integer values as ``'3'``, see :func:`category_strings`) with
  ``NaN`` for missing values; class labels follow the same rule;
* date and time columns (datetime columns, as parquet keeps them, or text in
  ISO 8601, e.g. ``2021-03-04`` or ``2021-03-04 17:30:00+01:00``, or in one of
  :data:`DATE_FORMATS` such as ``25/12/2021``, ``25.12.21 17:30``,
  ``05-Jan-2021`` or ``January 5, 2021``, every
  present value parsing; naive times are taken as UTC) become numeric
  parts, ``<column>.year``, ``.month``, ``.day``, ``.dayofweek``, ``.hour`` and
  ``.days`` (days since 1970, in UTC), those that vary; see :func:`date_parts`.
  A column that two formats read (``03/04/2021`` throughout: day or month
  first?) stays text, with a warning, unless ``day_first`` says which;
* ID-like columns (all values distinct strings), constant columns and columns
  of lists or other nested values (parquet list and struct columns) are
  removed from ``X`` and listed in ``Dataset.profile`` so they can be reported;
  integer columns that look like row numbers (distinct, consecutive) are kept,
  since they can be real measurements, but listed and warned about;
* rows whose target is missing are removed and counted.

Task inference (``task="auto"``): a non-numeric, boolean or ``category`` target is
classification; a numeric target whose values are all integers, with at most
``MAX_CLASSES_AUTO`` distinct values, each seen on average at least twice, is
classification; anything else is regression.
"""

from __future__ import annotations

import hashlib
import logging
import numbers
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from automl_meta.exceptions import DatasetError, UsageError

logger = logging.getLogger(__name__)

TASKS = ("classification", "regression")
TARGET_NAMES = ("target", "class", "label", "y")
# text cells that mean "missing", in a file (the reader passes them to pandas) or in a frame given in Python
NA_VALUES = ["", "NA", "N/A", "n/a", "na", "?", "NaN", "nan", "NAN", "NULL", "null", "None", "none", "-",
             "#N/A", "#NA", "<NA>", "\\N",  # Excel's, pandas', and MySQL / PostgreSQL exports' NULL
             "#DIV/0!", "#VALUE!", "#REF!", "#NUM!", "#NAME?", "#NULL!"]  # Excel's error values: no value
MIN_ROWS = 10
MAX_INT_CATEGORIES = 10
MAX_CLASSES_AUTO = 20
MAX_ABS_FEATURE = float(np.finfo(np.float32).max)  # scikit-learn's trees cast features to float32
MAX_ABS_TARGET = MAX_ABS_FEATURE  # LightGBM and HistGradientBoosting cast regression labels to float32
TREE_SPLIT_GAP = 1e-7  # scikit-learn's trees skip a split between float32 values closer than this (FEATURE_THRESHOLD)
MIN_ABS_TARGET = float(np.finfo(np.float32).tiny)  # a target all below is lost in float32 labels (far below, squares underflow to 0)


def _looks_like_row_number(present: pd.Series, n_rows: int) -> bool:
    """Every row has a value, all distinct and consecutive: 0..n-1, 1..n or any such run."""
    return (
        n_rows > MAX_INT_CATEGORIES
        and len(present) == n_rows
        and present.nunique() == n_rows
        and float(present.max() - present.min()) == n_rows - 1
    )


@dataclass(frozen=True)
class ColumnProfile:
    """What was found in the columns, for reporting."""

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    id_like: tuple[str, ...] = ()
    constant: tuple[str, ...] = ()
    nested: tuple[str, ...] = ()  # lists, arrays or mappings in a cell (parquet list and struct columns): left out
    row_numbers: tuple[str, ...] = ()  # kept numeric columns of distinct consecutive integers (a row number?)
    dates: tuple[str, ...] = ()  # date/time columns, replaced by their numeric parts (date_parts)
    date_formats: dict = field(default_factory=dict)  # text date column -> its format (ISO_DATES or a strftime one)
    missing: dict = field(default_factory=dict)  # column -> count of missing cells (features only)
    rows_without_target: int = 0

    def as_dict(self) -> dict:
        return {
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "id_like": list(self.id_like),
            "constant": list(self.constant),
            "nested": list(self.nested),
            "row_numbers": list(self.row_numbers),
            "dates": list(self.dates),
            "date_formats": dict(self.date_formats),
            "missing": dict(self.missing),
            "rows_without_target": self.rows_without_target,
        }


@dataclass(frozen=True)
class Dataset:
    """Features ``X``, target ``y`` and the task, after checks (see module doc)."""

    X: pd.DataFrame
    y: pd.Series
    task: str
    target: str
    name: str = "dataset"
    profile: ColumnProfile = field(default_factory=ColumnProfile)
    # class label (text, as in y) -> the value the table held: an int, float or bool where the target
    # was numbers or True/False, else the text itself; empty for regression (see :func:`label_values`)
    label_values: dict = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return len(self.X)

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def categorical_columns(self) -> list[str]:
        return [c for c in self.X.columns if self.X[c].dtype == object]

    @property
    def numeric_columns(self) -> list[str]:
        return [c for c in self.X.columns if self.X[c].dtype != object]

    @property
    def n_classes(self) -> int | None:
        return int(self.y.nunique()) if self.task == "classification" else None

    def content_hash(self) -> str:
        """A stable hash of features, target and task (cache key for meta-features).

        Computed once per instance (the frames are not to be changed in place;
        ``dataclasses.replace`` makes a new instance), and kept when pickled.
        """
        if "_content_hash" not in self.__dict__:
            self.__dict__["_content_hash"] = self._hash()  # a frozen dataclass: no attribute assignment
        return self.__dict__["_content_hash"]

    def _hash(self) -> str:
        h = hashlib.sha256()
        h.update(self.task.encode())
        h.update("\x1f".join(map(str, self.X.columns)).encode())
        h.update(str(self.target).encode())
        h.update(pd.util.hash_pandas_object(self.X, index=False).to_numpy().tobytes())
        h.update(pd.util.hash_pandas_object(self.y, index=False).to_numpy().tobytes())
        return h.hexdigest()


def default_target(columns) -> str:
    """A column named target/class/label/y (exactly, else in any case: ``Target``), else the last column.

    Two columns that both match a name only in case (``Target`` and ``TARGET``) are
    refused: which one holds the labels is the user's to say.
    """
    for name in TARGET_NAMES:
        if name in list(columns):
            return name
        matching = [c for c in columns if str(c).lower() == name]
        if len(matching) > 1:
            raise DatasetError(f"the columns {', '.join(map(repr, matching))} could each be the target; name one with "
                               "--target (target= in Python; for db build, the target column of the folder's MANIFEST.csv)")
        if matching:
            return matching[0]
    return columns[-1]


def infer_task(y: pd.Series) -> str:
    """Classification or regression, by the rule in the module docstring."""
    y = y.dropna()
    if _is_boolean(y) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    values = y.to_numpy(dtype=float)
    n_unique = len(np.unique(values))
    integral = np.all(np.isfinite(values)) and np.all(values == np.round(values))
    if integral and n_unique <= MAX_CLASSES_AUTO and len(values) >= 2 * n_unique:
        return "classification"
    return "regression"


def _head_is_numeric(col: pd.Series, n: int = 32) -> bool:
    """Whether the first ``n`` present values parse as numbers: a cheap test before parsing a whole text column.

    Parsing 20,000 labels such as "yes" with ``pd.to_numeric(errors="coerce")``
    takes about 10 ms per column, paid on every load by the label and each text
    feature; one value that does not parse settles it.
    """
    head = col.head(4 * n).dropna().head(n)  # all missing: True, and the whole column decides
    return bool(pd.to_numeric(head, errors="coerce").notna().all())


def _is_boolean(col: pd.Series) -> bool:
    """True/False columns, however held: NumPy bool, pandas' nullable boolean, or Python bools among missing values.

    A CSV column of ``True``/``False`` reads as NumPy bool, but as objects once
    one cell is empty; all three are the categories ``"False"`` and ``"True"``,
    never the numbers 0 and 1, so a table with a gap and one without agree.
    """
    if pd.api.types.is_bool_dtype(col.dtype):
        return True
    if col.dtype != object:
        return False
    head = col.head(128).dropna().head(32)  # a text column is settled by its first values, without a pass over all
    if len(head) == 0:  # the first 128 missing: the first present ones, wherever they are
        head = col.dropna().head(32)
    return len(head) > 0 and all(isinstance(v, (bool, np.bool_)) for v in head) and bool(
        col.dropna().map(lambda v: isinstance(v, (bool, np.bool_))).all()
    )


def _floats(col: pd.Series) -> np.ndarray:
    """A numeric column's values as float64, missing as NaN (nullable integers included)."""
    return col.to_numpy(dtype="float64", na_value=np.nan)


def _is_declared_categorical(col: pd.Series) -> bool:
    """A pandas ``category`` column: declared so by its source (an ARFF nominal attribute, a parquet dictionary
    column, a frame's ``astype("category")``), so it stays categorical even when its labels are numbers."""
    return isinstance(col.dtype, pd.CategoricalDtype)


def _as_number(col: pd.Series) -> pd.Series | None:
    """The column as float64 if every present value is numeric (True/False and ``category`` columns are not), else None;
    infinities become NaN."""
    if _is_boolean(col) or _is_declared_categorical(col):
        return None
    if pd.api.types.is_numeric_dtype(col):
        values = _floats(col)
    else:
        if not _head_is_numeric(col):
            return None
        out = pd.to_numeric(col, errors="coerce")
        if out.notna().sum() != col.notna().sum():
            return None
        values = _floats(out)
    # NumPy, not Series.replace: this runs once per column, and replace costs ~0.3 ms a column
    return pd.Series(np.where(np.isinf(values), np.nan, values), index=col.index, name=col.name)


# a number dressed as text: currency, thousands separators in groups of three, percent, accounting negatives
_DRESSED_NUMBER = re.compile(r"^\(?[-+]?[$€£¥]?\s?[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s?%?\)?$")
_DRESSING = re.compile(r"[$€£¥%,()]")


def _numbers_as_text(col: pd.Series) -> tuple[str, str] | None:
    """``(how, fix)`` where a text column holds numbers but for a few values, or numbers dressed as text
    (``$1,200``, ``12%``, ``(536)``); None otherwise. Such a column reads as a category of as many
    levels as values, and the warning is the user's only hint (judged on at most 1,000 distinct values)."""
    values = pd.Series([str(v).strip() for v in pd.unique(col.dropna())[:1000]], dtype=object)  # a frame may mix numbers and text
    if len(values) < MAX_INT_CATEGORIES:
        return None
    plain = pd.to_numeric(values, errors="coerce").notna()
    if plain.mean() >= 0.9:
        odd = ", ".join(repr(v) for v in values[~plain].head(3))
        odd_count = int((~plain).sum())
        return (f"but for {odd_count} distinct value{'s' if odd_count > 1 else ''} ({odd})",
                f"fix or blank {'those values' if odd_count > 1 else 'it'} to read the column as numbers")
    dressed = values.str.fullmatch(_DRESSED_NUMBER)
    shown = values[dressed & values.str.contains(_DRESSING)]
    if dressed.mean() >= 0.9 and len(shown):
        return f"written with $, %, commas or brackets ({shown.iloc[0]!r})", "save them as plain numbers (1200.5) to read it as numbers"
    return None


def _refuse_numbers_as_text(y: pd.Series, name: str, target: str, reads_as: str) -> None:
    """Raise, naming the odd values, where a target is numbers but for a few values or dressed as text."""
    numberish = _numbers_as_text(y)
    if numberish:
        raise DatasetError(f"{name}: target {target!r} holds numbers {numberish[0]}, so it reads as text, {reads_as}: {numberish[1]}")


def _typical_split_gap(values: pd.Series) -> float | None:
    """The median gap between a numeric feature's neighbouring distinct values as trees read them (float32), where it
    is below :data:`TREE_SPLIT_GAP`; else None. Only columns whose whole span allows it are sorted (the cost is per column)."""
    present = values.to_numpy(dtype=float)
    present = present[~np.isnan(present)]
    if len(present) < 2 or np.ptp(present) > TREE_SPLIT_GAP * len(present):  # the mean gap is wider: most columns stop here
        return None
    distinct = np.unique(present.astype(np.float32)).astype(float)
    if len(distinct) < 2:  # distinct values that float32 reads as one (below 1e-45 it flushes them to 0)
        return 0.0 if np.ptp(present) > 0 else None
    gap = float(np.median(np.diff(distinct)))
    return gap if gap < TREE_SPLIT_GAP else None


def _warn_target_copies(X: pd.DataFrame, y: pd.Series, task: str, name: str) -> None:
    """Warn of a feature that is the target again (a copy, or a relabelling of its classes): every score would be perfect."""
    copies = []
    if task == "regression":  # the target again up to units: a correlation of 1, columns in blocks (one pass each)
        target = y.to_numpy(float)
        target = (target - target.mean()) / target.std()
        numeric = [c for c in X.columns if X[c].dtype != object]
        for start in range(0, len(numeric), 64):
            block = X[numeric[start:start + 64]].to_numpy(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = ((block - block.mean(axis=0)) / block.std(axis=0) * target[:, None]).mean(axis=0)  # NaN: missing, constant
            copies += [c for c, r in zip(numeric[start:start + 64], corr) if abs(r) > 1 - 1e-9]
    else:  # a relabelling of the classes: as many values as classes, each with one class (a first rows' look rules out most)
        classes = y.nunique()
        for column in X.columns:
            values = X[column]
            if values.iloc[:1000].nunique() > classes or values.nunique() != classes or values.isna().any() or classes >= len(y) / 2:
                continue
            pairs = pd.DataFrame({"x": values.to_numpy(), "y": y.to_numpy()}).drop_duplicates()
            if len(pairs) == classes:
                copies.append(column)
    if copies:
        logger.warning("%s: %s %s the target again (%s); every learner would score perfectly: drop %s unless %s known before the target",
                       name, ", ".join(map(repr, copies)), "is" if len(copies) == 1 else "are",
                       "up to units" if task == "regression" else "its classes one to one", "it" if len(copies) == 1 else "them",
                       "it is" if len(copies) == 1 else "they are")


def markers_as_missing(frame: pd.DataFrame) -> None:
    """Text cells that are a missing-value marker (:data:`NA_VALUES`: ``?``, ``NA``, ``-``...) become missing, in place.

    The file reader already reads them so; a frame made in Python (``pd.read_csv``
    keeps ``?``) then gives the same columns: a number column with a few ``?`` stays numeric.
    Prediction applies it to new tables too, so an empty cell is missing there as it was at fitting.
    """
    for column in frame.columns:
        values = frame[column]
        textual = values.dtype == object or isinstance(values.dtype, (pd.StringDtype, pd.CategoricalDtype))
        if textual and not _holds_nested(values):
            # ' NA' and 'NA ' too: labels lose their surrounding spaces, so a marker does (judged once per distinct value)
            markers = [v for v in pd.unique(values.dropna()) if isinstance(v, str) and v.strip() in NA_VALUES]
            marked = values.isin(markers)
            if marked.any():
                frame[column] = values.mask(marked)


def _holds_nested(col: pd.Series) -> bool:
    """Whether the first present values of a column are lists, arrays, mappings or sets (parquet list and struct columns)."""
    if col.dtype != object:
        return False
    return any(isinstance(v, (list, tuple, dict, set, np.ndarray)) for v in col.head(128).dropna().head(32))


def _at_most_one_value(col: pd.Series) -> bool:
    """Whether the column has one distinct present value or none (infinities count as values)."""
    if pd.api.types.is_numeric_dtype(col) and col.dtype != bool:
        values = _floats(col)
        present = values[~np.isnan(values)]
        return len(present) == 0 or bool(present.min() == present.max())  # no hashing: cheap on wide tables
    distinct = pd.unique(col.dropna())
    if len(distinct) <= 1:
        return True
    if col.dtype == object or isinstance(col.dtype, pd.StringDtype):  # 'yes ' and 'yes' are one label (see category_strings)
        return len({v.strip() if isinstance(v, str) else v for v in distinct}) <= 1
    return False


DATE_PARTS = ("year", "month", "day", "dayofweek", "hour", "days")


ISO_DATES = "ISO8601"
# other ways of writing a date, each also with a time of day: numbers with a four- or two-digit
# year (a four-digit year does not read as two), and English month names or their abbreviations
NUMERIC_DAYS = ("%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y")
MONTH_NAME_DAYS = ("%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d %Y", "%B %d %Y", "%b %d, %Y", "%B %d, %Y")
DATE_FORMATS = tuple(
    day + time
    for day in (*NUMERIC_DAYS, *(f.replace("%Y", "%y") for f in NUMERIC_DAYS if not f.startswith("%Y")), *MONTH_NAME_DAYS)
    for time in ("", " %H:%M", " %H:%M:%S")
)
_NUMERIC_DATE = r"\s*\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}"  # 25/12/2021, 2021/12/25, 25.12.21, ...
_MONTH_NAME_DATE = r"\s*(?:\d{1,2}[ -][A-Za-z]{3,9}[ -]\d{2,4}|[A-Za-z]{3,9} \d{1,2},? \d{4})"  # 5 Jan 2021, Jan 5, 2021


def is_text(col: pd.Series) -> bool:
    """Whether the column holds text (object or a pandas string dtype)."""
    return col.dtype == object or pd.api.types.is_string_dtype(col)


def parse_dates(values: pd.Series, fmt: str) -> pd.Series:
    """``values`` (text, missing as None) as UTC timestamps in format ``fmt``; what does not parse is NaT."""
    try:
        return pd.to_datetime(values, format=fmt, utc=True, errors="coerce")
    except (ValueError, TypeError, OverflowError):
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")


def fitting_date_formats(col: pd.Series) -> list[str]:
    """The formats in which every present value of a text column is a date: ``[ISO_DATES]``, some of :data:`DATE_FORMATS`, or none.

    Two or more formats fit when day and month cannot be told apart (every
    value like ``03/04/2021``); one fits as soon as a value has a day above 12.
    """
    return list(_dates_in_fitting_formats(col))


def _dates_in_fitting_formats(col: pd.Series) -> dict[str, pd.Series]:
    """:func:`fitting_date_formats` -> the column's present values parsed in that format (kept: parsing is the cost).

    A ``category`` column is never dates: its source declared it categorical.
    """
    if not is_text(col) or _is_declared_categorical(col):
        return {}
    head = col.head(128).dropna().head(32).astype(str)  # cheap tests on a few values first
    if head.empty:
        head = col.dropna().head(32).astype(str)
        if head.empty:
            return {}
    if head.str.match(r"\s*\d{4}-\d{2}").all():  # "2021-03..."
        candidates = [ISO_DATES]
    elif head.str.match(_NUMERIC_DATE).all() or head.str.match(_MONTH_NAME_DATE).all():
        candidates = [f for f in DATE_FORMATS if parse_dates(head, f).notna().all()]  # the head rules most out
    else:
        return {}
    present = col.dropna().astype(str)
    parsed = {f: parse_dates(present, f) for f in candidates}
    return {f: values for f, values in parsed.items() if values.notna().all()}


def reads_day_first(fmt: str) -> bool:
    """Whether the date format ``fmt`` has the day before the month (``%d/%m/%Y``: yes; ``%m/%d/%Y``, ISO: no)."""
    return 0 <= fmt.find("%d") < fmt.find("%m")


def as_dates(col: pd.Series, fmt: str = ISO_DATES) -> pd.Series:
    """The column as UTC timestamps: a datetime column (parquet) as it is, anything else read as text in ``fmt``.

    Naive times are taken as UTC; a present value that is no date in ``fmt`` is NaT.
    """
    if pd.api.types.is_datetime64_any_dtype(col):
        return pd.to_datetime(col, utc=True)
    return parse_dates(col.astype(object).where(col.notna(), None), fmt)


def date_parts(name: str, values: pd.Series, varying_only: bool = True) -> dict[str, pd.Series]:
    """``<name>.year``, ``.month``, ``.day``, ``.dayofweek``, ``.hour`` and ``.days`` of UTC timestamps, as float64.

    ``.days`` is the time since 1970-01-01 in days (the trend); the others are
    calendar parts (the cycles). ``varying_only`` keeps the parts with two or
    more distinct values (a date without times has no useful hour); a saved
    model asks for the parts it was fitted on with ``varying_only=False``.
    """
    parts = {
        "year": values.dt.year, "month": values.dt.month, "day": values.dt.day,
        "dayofweek": values.dt.day_of_week, "hour": values.dt.hour,
        "days": (values - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(days=1),
    }
    out = {f"{name}.{part}": parts[part].astype("float64") for part in DATE_PARTS}
    return {k: v for k, v in out.items() if not varying_only or v.nunique(dropna=True) > 1}


ZERO_LED_INTEGER = r"\s*0\d+\s*"  # 007, 02139: a code written with a leading zero, not the number 7 (a signed -007 is -7)


def _zero_led_text(col: pd.Series) -> bool:
    """A text column holding some integer written with a leading zero (``007``): codes, kept as written."""
    return not pd.api.types.is_numeric_dtype(col.dtype) and bool(col.dropna().astype(str).str.fullmatch(ZERO_LED_INTEGER).any())


def category_strings(col: pd.Series) -> pd.Series:
    """Values as category labels: integer-valued numbers as '3' (not '3.0'), anything else ``str`` without surrounding spaces.

    The one conversion for categorical features and class labels, at training and at
    prediction time alike (a saved model's classes must match a new table's labels).
    Padded exports write ``"yes "`` beside ``"yes"``: one label, not two. Text
    digits with a leading zero somewhere in the column (``007`` beside ``7``)
    stay as written: ``007`` and ``7`` are two labels.
    """
    present = col.notna()
    out = col.astype(object).copy()
    if not _is_boolean(col) and _head_is_numeric(col) and not _zero_led_text(col):
        as_num = pd.to_numeric(col[present], errors="coerce")
        if pd.api.types.is_integer_dtype(as_num.dtype):  # exactly: through float64, integers past 2**53 would merge
            out[present] = [str(v) for v in as_num.tolist()]
            return out.where(present, np.nan)
        values = as_num.to_numpy(dtype=float)
        if as_num.notna().all() and np.all(np.isfinite(values)) and np.all(values == np.round(values)):
            out[present] = [str(int(v)) for v in values]
            return out.where(present, np.nan)
    out[present] = out[present].map(str).str.strip()
    return out.where(present, np.nan)


INTEGER_TEXT = r"\s*[-+]?\d+\s*"  # an integer as text, exactly (int() of it loses nothing past 2**53)


def _spellings(value) -> list[str]:
    """The labels :func:`category_strings` may have made of ``value``, depending on the column it stood in."""
    if isinstance(value, (bool, np.bool_)):
        return [str(bool(value)), str(bool(value)).upper(), str(bool(value)).lower()]
    text = str(value).strip()
    out = [text]
    if text.lower() in ("true", "false"):  # TRUE beside 'maybe' stayed text; alone, pandas reads a bool
        out.append(text.capitalize())
    try:
        number = value if isinstance(value, numbers.Number) else int(text) if re.fullmatch(INTEGER_TEXT, text) else float(text)
        as_float = float(number)
    except (TypeError, ValueError, OverflowError):
        return out
    if isinstance(number, numbers.Integral) or (np.isfinite(as_float) and as_float.is_integer()):
        return out + [str(int(number)), repr(as_float)]  # 3 among whole numbers, 3.0 beside 2.5
    return out + [repr(as_float)]


def _whole_number(value) -> bool:
    """A number (not a bool) with no fractional part, small enough to be written exactly as an integer."""
    if not isinstance(value, numbers.Number) or isinstance(value, (bool, np.bool_)):
        return False
    as_float = float(value)
    return bool(np.isfinite(as_float) and as_float.is_integer() and abs(as_float) < 2**53)


def known_category_strings(col: pd.Series, known) -> pd.Series:
    """``col`` as category labels (:func:`category_strings`), each value spelled as ``known`` spells it where it can be.

    :func:`category_strings` spells a value by the whole column it stands in:
    3 is ``'3'`` among whole numbers but ``'3.0'`` beside 2.5; ``TRUE`` beside
    ``maybe`` stays ``'TRUE'``, and alone pandas reads a bool, ``'True'``;
    ``05`` is ``'5'`` where a file's column read as numbers and ``'05'``
    beside ``007``. A new table at prediction time must give a value the
    label the model learned, whatever its neighbours: each value that is not
    among ``known`` (a fitted model's categories or classes) takes the first
    of its other spellings that is. A value that matches none is really new:
    a whole number is spelled on its own (``'6'``, not ``'6.0'`` because a
    2.5 stands beside it), so that a note naming it shows what the file says.
    """
    strings = category_strings(col)
    known = set(known or ())
    unmatched = strings.notna() & ~strings.isin(known)
    if not known or not unmatched.any():
        return strings
    mapping = {}
    for value in col[unmatched].drop_duplicates().tolist():
        spellings = _spellings(value)
        found = next((s for s in spellings if s in known), None)
        if found is not None:
            mapping[value] = found
        elif _whole_number(value):
            mapping[value] = str(int(value))
    if mapping:
        strings[unmatched] = [mapping.get(v, s) for v, s in zip(col[unmatched].tolist(), strings[unmatched].tolist())]
    return strings


def label_values(original: pd.Series, labels: pd.Series) -> dict:
    """Each class label of ``labels`` (:func:`category_strings` of ``original``) -> the value the table held for it.

    True/False give bools; numbers give ints (when every one is integral: 7.0 beside 3.0,
    as a column of integers with a gap reads) or floats; anything else, digits written as
    text included, gives the text as written (without surrounding spaces). So predictions
    can be given back as the table held its labels.
    """
    pairs = pd.DataFrame({"label": labels.to_numpy(), "raw": original.to_numpy()}).dropna().drop_duplicates("label")
    if _is_boolean(original):
        return {label: bool(raw) for label, raw in zip(pairs["label"], pairs["raw"])}
    raws = list(pairs["raw"])
    if raws and all(isinstance(v, numbers.Number) and not isinstance(v, (bool, np.bool_)) for v in raws):
        if all(isinstance(v, numbers.Integral) or float(v).is_integer() for v in raws):  # as category_strings decides
            return {label: int(v) for label, v in zip(pairs["label"], raws)}
        return {label: float(v) for label, v in zip(pairs["label"], raws)}
    return {label: str(v).strip() for label, v in zip(pairs["label"], raws)}


def _check_learnable_classes(y: pd.Series, name: str, target: str, chosen: str, numeric: bool) -> None:
    """Refuse class labels that no split can learn from: fewer than two classes of two rows or more.

    A label different in every row is an identifier, a date or a measurement, not a
    class (it was ranked and fitted as a problem of as many classes as rows).
    """
    counts = y.value_counts()
    if (counts >= 2).sum() >= 2:
        return
    if (counts >= 2).sum() == 0:
        problem = (f"{name}: target {target!r}{chosen} has a different value in every row ({len(y)} classes of one row): "
                   "an identifier, a date or a measurement, not a class label")
        if not numeric:  # a regression target with a stray word: neither a class column nor --task regression is the fix
            _refuse_numbers_as_text(y, name, target, "with a different value in every row")
        fix = "name a class column as the target" + (", or predict it as a regression task" if numeric else "")
        raise DatasetError(f"{problem}; {fix}", fix="target")
    single = [repr(c) for c in counts.index[counts < 2]]
    raise DatasetError(f"{name}: target {target!r}{chosen}: class{'es' if len(single) > 1 else ''} {', '.join(single[:5])} "
                       f"{'have' if len(single) > 1 else 'has'} a single row, leaving one class of two rows or more; a classifier "
                       "needs two: add rows of the single-row classes", fix="target" if chosen else None)


def make_dataset(
    frame: pd.DataFrame, target: str | None = None, task: str = "auto", name: str = "dataset",
    day_first: bool | None = None,
) -> Dataset:
    """Check ``frame`` as a learning problem and split it into features and target.

    ``day_first`` settles text dates whose day and month cannot be told apart
    (``03/04/2021`` throughout): True reads them day first (3 April), False
    month first (March 4); None leaves such a column text, with a warning.

    Raises :class:`DatasetError` naming the problem (too few rows, target absent
    or all missing, a single class, no usable feature, ...).
    """
    if task not in ("auto", *TASKS):
        raise UsageError(f"unknown task {task!r}: use classification, regression or auto")
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DatasetError(f"{name}: no data rows (header only?); give a file with at least {MIN_ROWS} rows")
    if frame.shape[1] < 2:
        raise DatasetError(f"{name}: only one column found; the delimiter may be wrong, or the file has no feature columns", fix="sep")
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    repeated = sorted(set(frame.columns[frame.columns.duplicated()]))
    if repeated:
        raise DatasetError(f"{name}: column names repeat ({', '.join(map(repr, repeated))}, as text); give every column its own name")
    markers_as_missing(frame)
    chosen = ""  # how the target was found, where a wrong guess may be the problem
    if target is None:
        target = default_target(list(frame.columns))
        if target.lower() not in TARGET_NAMES:
            chosen = f" (the last column, taken as the target for want of one named {'/'.join(TARGET_NAMES)})"
    target = str(target)
    if target not in frame.columns:  # as the default lookup finds it: names lose surrounding spaces, in any case if one matches
        alike = [c for c in frame.columns if c.strip().lower() == target.strip().lower()]
        target = alike[0] if len(alike) == 1 else target
    if target not in frame.columns:
        shown = ", ".join(map(repr, list(frame.columns)[:20])) + (", ..." if frame.shape[1] > 20 else "")  # repr: 'class ' shows its space
        raise DatasetError(f"{name}: target column {target!r} not found; columns are: {shown}", fix="target")

    y = frame.pop(target)
    if _holds_nested(y):
        raise DatasetError(f"{name}: target {target!r} holds lists or other nested values; give a column of labels or numbers")
    numeric_y = _as_number(y)
    raw_y = y  # class labels come from these, not from the float64 copy (integers past 2**53 would merge)
    if numeric_y is not None:
        y = numeric_y
    if y.isna().all():
        raise DatasetError(f"{name}: target column {target!r} is empty (all values missing)")
    keep = y.notna().to_numpy()
    rows_without_target = int((~keep).sum())
    frame, y = frame.loc[keep].reset_index(drop=True), y.loc[keep].reset_index(drop=True)
    raw_y = raw_y.loc[keep].reset_index(drop=True)
    if len(frame) < MIN_ROWS:
        rows = f"{len(frame)} row" + ("" if len(frame) == 1 else "s")
        raise DatasetError(f"{name}: only {rows} with a target; at least {MIN_ROWS} are needed")

    task = infer_task(y) if task == "auto" else task
    values: dict = {}
    if task == "classification":
        y = category_strings(raw_y)
        values = label_values(raw_y, y)
        if y.nunique() < 2:
            raise DatasetError(f"{name}: target {target!r}{chosen} has one class ({y.iloc[0]!r}); a classifier needs two or more",
                               fix="target" if chosen else None)
        _check_learnable_classes(y, name, target, chosen, numeric_y is not None)
    else:
        if numeric_y is None:
            if not _is_declared_categorical(y):
                _refuse_numbers_as_text(y, name, target, "no regression target")
            kind = "a category column" if _is_declared_categorical(y) else "not numeric"
            raise DatasetError(f"{name}: target {target!r}{chosen} is {kind}, so it cannot be a regression target; "
                               "it is a classification task", fix="task")
        if y.nunique() < 2:
            raise DatasetError(f"{name}: target {target!r}{chosen} is constant; nothing to learn", fix="target" if chosen else None)
        largest = float(np.abs(y.to_numpy(dtype=float)).max())
        if largest > MAX_ABS_TARGET:
            raise DatasetError(
                f"{name}: target {target!r} reaches {largest:.3g}, beyond {MAX_ABS_TARGET:.3g}, the largest float32 "
                "(boosting learners read labels as float32); rescale it (divide by a power of ten) or predict its logarithm"
            )
        if largest < MIN_ABS_TARGET:
            raise DatasetError(
                f"{name}: target {target!r} is at most {largest:.3g} in absolute value, below {MIN_ABS_TARGET:.3g}, the smallest "
                "normal float32 (boosting learners read labels as float32); rescale it (multiply by a power of ten)"
            )

    columns: dict[str, pd.Series] = {}
    numeric, categorical, id_like, constant, nested, row_numbers, dates, missing = [], [], [], [], [], [], [], {}
    date_formats: dict[str, str] = {}

    too_large: dict[str, float] = {}
    too_narrow: dict[str, float] = {}

    def keep(column: str, values: pd.Series) -> None:
        (categorical if values.dtype == object else numeric).append(column)
        if values.dtype != object and values.notna().any():
            largest = float(np.nanmax(np.abs(values.to_numpy())))
            if largest > MAX_ABS_FEATURE:
                too_large[column] = largest
            gap = _typical_split_gap(values)
            if gap is not None:
                too_narrow[column] = gap
        n_missing = int(values.isna().sum())
        if n_missing:
            missing[column] = n_missing
        columns[column] = values

    for col in frame.columns:
        raw = frame[col]
        if _holds_nested(raw):
            nested.append(col)
            continue
        if _at_most_one_value(raw):
            constant.append(col)
            continue
        parsed = _dates_in_fitting_formats(raw)
        fits = list(parsed)
        if len(fits) > 1 and day_first is not None:
            fits = [f for f in fits if reads_day_first(f) == day_first]
        if len(fits) > 1:
            example = raw.dropna().iloc[0]
            logger.warning(
                "%s: %r holds dates whose day and month cannot be told apart (%r); it stays text: "
                "pass --day-first or --month-first, or write them as ISO 8601 (2021-03-04)", name, col, example,
            )
        if pd.api.types.is_datetime64_any_dtype(raw):
            stamps = as_dates(raw)
        else:
            stamps = parsed[fits[0]].reindex(raw.index) if len(fits) == 1 else None  # missing values: NaT
        if stamps is not None:
            dates.append(col)
            if fits:
                date_formats[col] = fits[0]
            for part, part_values in date_parts(col, stamps).items():
                if part not in frame.columns:  # the table has a column of that name already: it wins
                    keep(part, part_values)
            continue
        as_num = _as_number(raw)
        if as_num is not None:
            present = as_num.dropna()
            integral = bool(np.all(present == np.round(present)))
            if integral and present.nunique() <= MAX_INT_CATEGORIES and present.nunique() < len(present):
                converted = category_strings(as_num)
            else:
                converted = as_num
            if integral and _looks_like_row_number(present, len(frame)):
                row_numbers.append(col)
        else:
            n_present = int(raw.notna().sum())
            numberish = _numbers_as_text(raw)
            if n_present > MAX_INT_CATEGORIES and raw.nunique(dropna=True) == n_present:
                id_like.append(col)
                if numberish:
                    logger.warning("%s: %r holds numbers %s; read as text, its values all distinct, it is left out as ID-like: %s",
                                   name, col, *numberish)
                continue
            converted = category_strings(raw)
            if numberish:
                logger.warning("%s: %r holds numbers %s; read as text, a category of %d levels: %s",
                               name, col, numberish[0], converted.nunique(), numberish[1])
        keep(col, converted)
    if not columns:
        raise DatasetError(f"{name}: no usable feature columns (all are constant, ID-like or nested)")
    if too_large:
        shown = ", ".join(f"{c!r} ({v:.3g})" for c, v in list(too_large.items())[:5]) + (", ..." if len(too_large) > 5 else "")
        raise DatasetError(
            f"{name}: feature values beyond {MAX_ABS_FEATURE:.3g}, the largest float32 that tree learners read, in {shown}; "
            "rescale those columns (divide by a power of ten) or take their logarithm"
        )
    if too_narrow:
        logger.warning("%s: %s %s values mostly closer than %.0e to the next (median gap shown), which decision_tree, random_forest "
                       "and extra_trees cannot split between (scikit-learn's trees read float32 and skip finer splits); rescale %s "
                       "(multiply by a power of ten)",
                       name, ", ".join(f"{c!r} ({v:.2g})" for c, v in too_narrow.items()), "holds" if len(too_narrow) == 1 else "hold",
                       TREE_SPLIT_GAP, "it" if len(too_narrow) == 1 else "them")
    X = pd.DataFrame(columns)
    _warn_target_copies(X, y, task, name)
    profile = ColumnProfile(
        numeric=tuple(numeric),
        categorical=tuple(categorical),
        id_like=tuple(id_like),
        constant=tuple(constant),
        nested=tuple(nested),
        row_numbers=tuple(row_numbers),
        dates=tuple(dates),
        date_formats=date_formats,
        missing=missing,
        rows_without_target=rows_without_target,
    )
    if nested:
        logger.warning(
            "%s: %s %s lists or other nested values, which no learner takes; left out",
            name, ", ".join(repr(c) for c in nested), "holds" if len(nested) == 1 else "hold",
        )
    if row_numbers:
        logger.warning(
            "%s: %s %s distinct consecutive integers, like a row number; kept as a feature: "
            "drop it from the file if it only numbers the rows",
            name, ", ".join(repr(c) for c in row_numbers), "holds" if len(row_numbers) == 1 else "hold",
        )
    return Dataset(X=X, y=y, task=task, target=target, name=name, profile=profile, label_values=values)
