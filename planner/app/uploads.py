"""Loading the data of a scenario: the demo county or uploaded files (stored safely, checked)."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

from .. import _validate, pipeline
from .._errors import InputError, InputFileError
from ..pipeline import Dataset
from ..scenario import Scenario
from .settings import is_demo
from .uploads_crs import UploadProblem

# ---------------------------------------------------------------------------------------------
# Loading data (demo or uploads)
# ---------------------------------------------------------------------------------------------

#: Largest accepted upload per input, in megabytes.
UPLOAD_LIMIT_MB: dict[str, int] = {
    "roads": 200,
    "facilities": 20,
    "boundaries": 100,
    "population": 200,
    "candidates": 20,
}
#: Accepted file name endings per input (``zip``: a zipped shapefile).
UPLOAD_TYPES: dict[str, tuple[str, ...]] = {
    "roads": ("osm", "pbf", "zip", "gpkg", "geojson"),
    "facilities": ("csv", "xlsx", "geojson", "json", "zip"),
    "boundaries": ("geojson", "json", "gpkg", "zip"),
    "population": ("tif", "tiff", "geojson", "gpkg", "zip", "csv", "xlsx"),
    "candidates": ("csv", "xlsx", "geojson", "json"),
}
#: Zip archives: most members, most bytes unpacked, and the parts of a shapefile kept.
ZIP_MAX_MEMBERS = 64
ZIP_MAX_BYTES = 1_000_000_000
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")
#: Facility coordinate systems of scenarios saved before every upload had its own choice
#: (value passed to ``read_facilities``).
FACILITY_CRS = ("wgs84", "gcj02", "bd09")
#: Kinds of upload in the order they are read (population tables need roads and boundaries).
UPLOAD_ORDER = ("roads", "boundaries", "facilities", "population")
_PATH_RE = re.compile(r"(?<![\w:/\\])(?:[A-Za-z]:)?(?:[\\/][^\s\\/:'\"]+)+[\\/]([^\s\\/:'\"]+)")


def _safe_name(filename: str) -> str:
    """The last path component with anything but letters, digits, ``.-_`` replaced."""
    base = re.split(r"[\\/]", str(filename))[-1].strip() or "upload"
    base = re.sub(r"[^\w.\-]+", "_", base, flags=re.UNICODE).lstrip(".")
    return (base or "upload")[:120]


def _suffix(filename: str) -> str:
    low = filename.lower()
    if low.endswith(".osm.pbf"):
        return "pbf"
    return low.rsplit(".", 1)[-1] if "." in low else ""


def store_upload(kind: str, filename: str, data: bytes, root: str | Path) -> Path:
    """Write an uploaded file under ``root/<kind>/<sha256>/`` and return the path to load.

    Checks the size (:data:`UPLOAD_LIMIT_MB`) and the file type (:data:`UPLOAD_TYPES`); a zip
    archive must hold exactly one shapefile, which is unpacked (no path from the archive is
    used, members are size-checked while reading). Nothing in the file is ever executed.

    Raises
    ------
    InputError
        Too large, wrong type, or a zip that is not one shapefile.
    """
    if kind not in UPLOAD_TYPES:
        raise InputError(
            f"unknown upload kind {kind!r}. Fix: use one of {', '.join(UPLOAD_TYPES)}."
        )
    name = _safe_name(filename)
    limit = UPLOAD_LIMIT_MB[kind]
    if len(data) > limit * 1024 * 1024:
        raise InputError(
            f"{name}: {len(data) / 1024 / 1024:,.1f} MB is more than the {limit} MB allowed for {kind}. "
            "Fix: clip the file to the study area (e.g. osmium extract, or ogr2ogr -clipsrc)."
        )
    suffix = _suffix(name)
    if suffix not in UPLOAD_TYPES[kind]:
        raise InputError(
            f"{name}: a .{suffix or '?'} file cannot be used as {kind}. "
            f"Fix: upload one of {', '.join('.' + s for s in UPLOAD_TYPES[kind])}."
        )
    if len(data) == 0:
        raise InputError(f"{name}: the file is empty. Fix: upload the file again.")
    digest = hashlib.sha256(data).hexdigest()[:20]
    folder = Path(root) / kind / digest
    folder.mkdir(parents=True, exist_ok=True)
    if suffix == "zip":
        return _unzip_shapefile(data, folder, name)
    path = folder / name
    if not path.exists():
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def _unzip_shapefile(data: bytes, folder: Path, name: str) -> Path:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InputError(
            f"{name}: not a readable zip archive ({exc}). Fix: upload a .zip of the shapefile."
        ) from exc
    with zf:
        members = [i for i in zf.infolist() if not i.is_dir()]
        if len(members) > ZIP_MAX_MEMBERS:
            raise InputError(
                f"{name}: {len(members)} files in the archive (at most {ZIP_MAX_MEMBERS}). "
                "Fix: zip only the shapefile's .shp, .shx, .dbf, .prj and .cpg."
            )
        parts = [
            i
            for i in members
            if Path(i.filename).suffix.lower() in _SHAPEFILE_PARTS
            and not Path(i.filename).name.startswith(("._", "."))
        ]
        shps = [i for i in parts if i.filename.lower().endswith(".shp")]
        if len(shps) != 1:
            found = ", ".join(Path(i.filename).name for i in shps) or "none"
            raise InputError(
                f"{name}: the archive must hold exactly one shapefile (.shp); found {found}. "
                "Fix: zip one layer's .shp, .shx, .dbf and .prj together."
            )
        stem = Path(shps[0].filename).stem
        keep = [i for i in parts if Path(i.filename).stem == stem]
        if sum(i.file_size for i in keep) > ZIP_MAX_BYTES:
            raise InputError(
                f"{name}: the shapefile unpacks to more than {ZIP_MAX_BYTES // 1_000_000} MB. "
                "Fix: clip it to the study area."
            )
        out_stem = _safe_name(stem) or "layer"
        budget = ZIP_MAX_BYTES
        for info in keep:
            target = folder / (out_stem + Path(info.filename).suffix.lower())
            try:
                with zf.open(info) as src:  # read with a cap: the header's size may lie
                    content = src.read(budget + 1)
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                # a damaged member, a size or CRC that does not match the header, an unsupported
                # compression method or an encrypted member: the archive cannot be trusted
                raise InputError(
                    f"{name}: {Path(info.filename).name} in the archive cannot be unpacked "
                    f"({type(exc).__name__}: {exc}). Fix: zip the shapefile again (without a "
                    "password) and upload the new archive."
                ) from None
            if len(content) > budget:
                raise InputError(
                    f"{name}: the shapefile unpacks to more than {ZIP_MAX_BYTES // 1_000_000} MB. "
                    "Fix: clip it to the study area."
                )
            budget -= len(content)
            target.write_bytes(content)
    return folder / (out_stem + ".shp")


def load_data(sc: Scenario) -> Dataset:
    """The scenario's data set (the demo county when it names no files), checked with
    :func:`check_dataset`; its warnings are in ``dataset.sources['warnings']``.

    Messages (errors and warnings) name files, never the server's folders
    (:func:`scrub_paths`); the log keeps the original.
    """
    from .._errors import PlannerError

    try:
        ds = _load_data(sc)
    except PlannerError as exc:
        text = scrub_paths(str(exc))
        if text == str(exc) or isinstance(exc, UploadProblem):
            raise
        try:
            clean = type(exc)(text)
        except TypeError:  # an error class with other arguments: as it is
            raise exc from None
        raise clean from exc
    if "warnings" in ds.sources:
        ds.sources["warnings"] = scrub_paths(ds.sources["warnings"])
    return ds


def _load_data(sc: Scenario) -> Dataset:
    if is_demo(sc):
        return pipeline.load_demo()
    if not sc.roads or not sc.facilities:
        missing = " and ".join(k for k in ("roads", "facilities") if not getattr(sc, k))
        raise InputFileError(
            f"no {missing} file given. Fix: upload the {missing} of the study area."
        )
    import warnings as _warnings

    from .._errors import PlannerWarning

    with _warnings.catch_warnings(record=True) as caught:  # the loaders' warnings go on the page
        _warnings.simplefilter("always", PlannerWarning)
        ds = pipeline.load_dataset(
            None,
            roads=sc.roads,
            facilities=sc.facilities,
            population=sc.population or None,
            boundaries=sc.boundaries or None,
            facilities_crs=sc.facilities_crs or None,
            name=Path(sc.facilities).stem,
            check=False,  # checked below, in the app's words
        )
    warnings = [str(w.message) for w in caught if issubclass(w.category, PlannerWarning)]
    for w in caught:
        if not issubclass(w.category, PlannerWarning):
            _warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    warnings += check_dataset(ds)
    if warnings:
        ds.sources["warnings"] = "\n".join(warnings)
    return ds


def check_dataset(ds: Dataset, *, tolerance_deg: float = 0.02) -> list[str]:
    """Checks of a loaded data set that the loaders cannot make on one file alone.

    The checks of :func:`planner._validate.check_extents` (the same the library and the CLI
    make): raises :class:`~planner.CRSError` when no facility, no road or no resident lies
    within the boundaries (a wrong coordinate system, or lon/lat swapped); returns warnings
    (facilities outside the boundaries, which still count: residents cross borders; facilities
    that look like GCJ-02 coordinates uploaded as WGS-84).
    """
    warnings = _validate.check_extents(
        roads=ds.roads,
        facilities=ds.facilities,
        boundaries=ds.boundaries,
        population=ds.population,
        sources=ds.sources,
        tolerance_deg=tolerance_deg,
        crs_fix="choose the coordinate system the file was made in",
    )
    d = _validate.looks_like_gcj02(ds.roads, ds.facilities)
    if d is not None:
        warnings.append(
            f"the facilities look like GCJ-02 (Amap/Tencent) coordinates read as WGS-84: undoing the "
            f"GCJ-02 offset brings them from a median {d['as_is']:,.0f} m to {d['undone']:,.0f} m from "
            "the nearest road. If they come from Amap, Tencent or another Chinese web map, choose "
            "GCJ-02 as their coordinate system."
        )
    return warnings


def demo_candidates_file() -> Path:
    """The vacant premises of the demo county (``data/facilities/demo_candidates.csv``)."""
    return pipeline.DEMO_DIR / "facilities" / "demo_candidates.csv"


def scrub_paths(text: str, names: dict[str, str] | None = None) -> str:
    """``text`` with server paths replaced by the names the user knows.

    ``names`` maps stored paths (as :func:`store_upload` returned them, or their normalised
    copies) to the uploaded file's name; any other absolute path is cut to its last part, so
    no message shows where the server keeps files.

    >>> scrub_paths("/tmp/planner-uploads-x/facilities/ab12/hospitals.shp: no rows", {})
    'hospitals.shp: no rows'
    >>> scrub_paths("/srv/u/f/1/read-2/h.gpkg: bad", {"/srv/u/f/1/read-2/h.gpkg": "h.zip"})
    'h.zip: bad'
    """
    out = str(text)
    for path, name in sorted((names or {}).items(), key=lambda kv: -len(kv[0])):
        out = out.replace(str(path), name)
    return _PATH_RE.sub(lambda m: m.group(1), out)


def upload_error(exc: BaseException, translate: Any, *, file: str, names: dict[str, str]) -> str:
    """The message for an upload that failed, in the language of ``translate``
    (:class:`planner.i18n.Translator`): what went wrong with ``file`` and the fix, then the
    reader's own detail (English, paths replaced by file names)."""
    from .._errors import CRSError
    from .uploads_crs import UploadProblem

    if isinstance(exc, UploadProblem):
        return translate(exc.key, **exc.fields)
    # a coordinate-system problem, also when the reader found it in the coordinates' values
    key = "upl_err_crs" if isinstance(exc, CRSError) or "crs=" in str(exc) else "upl_err_input"
    detail = scrub_paths(str(exc), names)
    return translate(key, file=file) + "\n\n" + translate("upl_err_detail", detail=detail)
