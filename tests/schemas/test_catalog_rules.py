"""The catalog refuses a schema folder that breaks the versioning rules."""

import json
import shutil
from pathlib import Path

import pytest

from schemas.catalog import SchemaCatalogError, SchemaName, catalog, load_catalog

SHIPPED = Path(__file__).resolve().parents[2] / "schemas" / "avro"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(SHIPPED, tmp_path / "avro")
    return tmp_path / "avro"


def test_a_copy_of_the_shipped_folder_loads_like_the_package(root: Path) -> None:
    copy = load_catalog(root)
    assert set(copy.by_fingerprint) == set(catalog().by_fingerprint)


def test_a_gap_in_the_versions_is_refused(root: Path) -> None:
    (root / "silence" / "v1.avsc").rename(root / "silence" / "v2.avsc")
    with pytest.raises(SchemaCatalogError, match="without gaps"):
        load_catalog(root)


def test_a_stray_file_is_refused(root: Path) -> None:
    (root / "silence" / "silence-new.avsc").write_text("{}")
    with pytest.raises(SchemaCatalogError, match=r"vN\.avsc"):
        load_catalog(root)


def test_renaming_the_record_in_a_new_version_is_refused(root: Path) -> None:
    schema = json.loads((root / "silence" / "v1.avsc").read_text())
    schema["name"] = "Mute"
    (root / "silence" / "v2.avsc").write_text(json.dumps(schema))
    with pytest.raises(SchemaCatalogError, match="one record name"):
        load_catalog(root)


def test_a_version_identical_to_another_is_refused(root: Path) -> None:
    family = root / SchemaName.HEALTH_REPORT.value
    shutil.copy(family / "v1.avsc", family / "v2.avsc")
    with pytest.raises(SchemaCatalogError, match="duplicate fingerprint"):
        load_catalog(root)
