"""A hospital's images: what is read, and the errors its data manager would read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fedcluster.data.images import ImageSpec, read_site_images
from fedcluster.errors import SiteDataError
from image_helpers import colour_png, even_shapes, grey_png, pydicom_file, shape_folder

HOSPITAL = "St Mary"
SHAPES = ("circle", "square", "triangle", "cross")


def spec(**changes: object) -> ImageSpec:
    settings: dict[str, object] = {"classes": SHAPES, "image_size": 16, "channels": 1}
    settings.update(changes)
    return ImageSpec(**settings)  # type: ignore[arg-type]


def error_for(path: Path, **changes: object) -> str:
    with pytest.raises(SiteDataError) as caught:
        read_site_images(HOSPITAL, path, spec(**changes))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"hospital {HOSPITAL!r}: ")
    return message


# --- what is read ------------------------------------------------------------


def test_class_folders_are_numbered_in_the_federation_files_class_order(
    tmp_path: Path,
) -> None:
    root = shape_folder(tmp_path / "site", {"square": 3, "cross": 2})

    site = read_site_images(HOSPITAL, root, spec(classes=("cross", "circle", "square")))

    assert sorted(site.labels.tolist()) == [0, 0, 2, 2, 2]
    assert site.images.shape == (5, 1, 16, 16)
    assert site.layout == "class folders"


def test_images_of_any_size_are_resized_to_the_task_size(tmp_path: Path) -> None:
    grey_png(tmp_path / "site" / "circle" / "wide.png", size=(40, 24))
    grey_png(tmp_path / "site" / "circle" / "tiny.png", size=(8, 8))

    site = read_site_images(HOSPITAL, tmp_path / "site", spec(image_size=20))

    assert site.images.shape == (2, 1, 20, 20)
    assert np.allclose(site.images, 128 / 255, atol=1e-3)


def test_a_16_bit_greyscale_png_is_scaled_to_the_unit_range(tmp_path: Path) -> None:
    path = tmp_path / "site" / "circle" / "deep.png"
    path.parent.mkdir(parents=True)
    Image.fromarray(np.full((16, 16), 65535, dtype=np.uint16)).save(path)

    site = read_site_images(HOSPITAL, tmp_path / "site", spec())

    assert np.allclose(site.images, 1.0)


def test_dicom_files_listed_in_a_labels_csv_are_read_with_pydicom(
    tmp_path: Path,
) -> None:
    site_folder = tmp_path / "site"
    pydicom_file("CT_small.dcm", site_folder / "scans" / "ct.dcm")
    pydicom_file("MR_small.dcm", site_folder / "scans" / "mr.dcm")
    (site_folder / "labels.csv").write_text(
        "file,label\nscans/ct.dcm,square\nscans/mr.dcm,circle\n"
    )

    site = read_site_images(HOSPITAL, site_folder, spec(image_size=32))

    assert site.layout == "labels.csv"
    assert site.labels.tolist() == [1, 0]
    assert site.images.shape == (2, 1, 32, 32)
    assert site.images.min() >= 0.0 and site.images.max() <= 1.0
    assert site.images.std() > 0.05


def test_the_labels_csv_itself_can_be_the_hospitals_data_path(tmp_path: Path) -> None:
    pydicom_file("MR_small.dcm", tmp_path / "mr.dcm")
    labels = tmp_path / "export.csv"
    labels.write_text("file,label\nmr.dcm,cross\n")

    site = read_site_images(HOSPITAL, labels, spec())

    assert site.labels.tolist() == [3]


def test_a_colour_dicom_counts_as_three_channels(tmp_path: Path) -> None:
    pydicom_file("ExplVR_BigEnd.dcm", tmp_path / "site" / "circle" / "rgb.dcm")

    site = read_site_images(HOSPITAL, tmp_path / "site", spec(channels=3))

    assert site.images.shape == (1, 3, 16, 16)


def test_a_dicom_file_without_a_suffix_is_recognised(tmp_path: Path) -> None:
    pydicom_file("CT_small.dcm", tmp_path / "site" / "square" / "IM0001")

    site = read_site_images(HOSPITAL, tmp_path / "site", spec())

    assert site.labels.tolist() == [1]


def test_hidden_files_such_as_ds_store_are_ignored(tmp_path: Path) -> None:
    root = even_shapes(tmp_path / "site", per_class=2)
    (root / ".DS_Store").write_bytes(b"\0\1")
    (root / "circle" / ".thumbs").write_bytes(b"\0\1")

    site = read_site_images(HOSPITAL, root, spec())

    assert len(site.labels) == 8


# --- what is refused, in one line naming hospital and file -------------------


def test_an_unreadable_png_is_refused_naming_the_file(tmp_path: Path) -> None:
    even_shapes(tmp_path / "site", per_class=2)
    broken = tmp_path / "site" / "square" / "broken.png"
    broken.write_bytes(b"not a picture at all")

    message = error_for(tmp_path / "site")

    assert str(broken) in message and "unreadable" in message


def test_an_unreadable_dicom_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    broken = tmp_path / "site" / "scan.dcm"
    broken.write_bytes(b"\0" * 200)
    (tmp_path / "site" / "labels.csv").write_text("file,label\nscan.dcm,circle\n")

    message = error_for(tmp_path / "site")

    assert str(broken) in message and "pydicom cannot decode it" in message


def test_a_multi_frame_dicom_is_refused_with_what_to_export(tmp_path: Path) -> None:
    volume = pydicom_file("rtdose.dcm", tmp_path / "site" / "circle" / "dose.dcm")

    message = error_for(tmp_path / "site")

    assert str(volume) in message and "15 frames" in message


def test_a_folder_that_is_not_a_class_is_refused_with_the_classes_listed(
    tmp_path: Path,
) -> None:
    even_shapes(tmp_path / "site", per_class=2)
    grey_png(tmp_path / "site" / "hexagon" / "1.png")

    message = error_for(tmp_path / "site")

    assert str(tmp_path / "site" / "hexagon") in message
    assert "'hexagon' is not one of the task's classes" in message
    assert "circle, square, triangle, cross" in message


def test_an_empty_class_folder_is_refused(tmp_path: Path) -> None:
    shape_folder(tmp_path / "site", {"square": 2})
    (tmp_path / "site" / "circle").mkdir()

    message = error_for(tmp_path / "site")

    assert "class folder 'circle' is empty" in message
    assert str(tmp_path / "site" / "circle") in message


def test_a_greyscale_image_in_a_colour_task_is_refused_not_converted(
    tmp_path: Path,
) -> None:
    colour_png(tmp_path / "site" / "circle" / "a.png")
    grey = grey_png(tmp_path / "site" / "circle" / "b.png")

    message = error_for(tmp_path / "site", channels=3)

    assert str(grey) in message
    assert "has 1 channel (greyscale), the task expects 3 channels (colour)" in message


def test_an_image_of_another_size_is_refused_when_resizing_is_off(
    tmp_path: Path,
) -> None:
    grey_png(tmp_path / "site" / "circle" / "a.png", size=(16, 16))
    odd = grey_png(tmp_path / "site" / "circle" / "b.png", size=(20, 16))

    message = error_for(tmp_path / "site", resize=False)

    assert str(odd) in message and "is 20x16 pixels" in message


def test_a_labels_csv_naming_a_missing_file_is_refused(tmp_path: Path) -> None:
    pydicom_file("CT_small.dcm", tmp_path / "site" / "ct.dcm")
    (tmp_path / "site" / "labels.csv").write_text(
        "file,label\nct.dcm,circle\ngone.dcm,square\nalso-gone.dcm,cross\n"
    )

    message = error_for(tmp_path / "site")

    assert str(tmp_path / "site" / "labels.csv") in message
    assert "names a file that does not exist: " in message
    assert f"{tmp_path / 'site' / 'gone.dcm'} (and 1 more)" in message


def test_a_labels_csv_with_an_unknown_label_is_refused(tmp_path: Path) -> None:
    pydicom_file("CT_small.dcm", tmp_path / "site" / "ct.dcm")
    (tmp_path / "site" / "labels.csv").write_text("file,label\nct.dcm,tumour\n")

    message = error_for(tmp_path / "site")

    assert "line 2 labels 'ct.dcm' as 'tumour'" in message


def test_a_labels_csv_with_another_header_is_refused(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "labels.csv").write_text("path,class\nct.dcm,circle\n")

    message = error_for(tmp_path / "site")

    assert "expected 'file,label'" in message


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda root: None, "no such folder"),
        (lambda root: root.mkdir(), "no class folders"),
        (lambda root: grey_png(root / "loose.png"), "not inside a class folder"),
        (
            lambda root: (
                grey_png(root / "circle" / "a.png").with_name("notes.txt")
            ).write_text("x"),
            "not a PNG, JPEG or DICOM file",
        ),
    ],
    ids=["missing folder", "no classes", "loose image", "stray file"],
)
def test_a_badly_laid_out_folder_is_refused_with_the_fix(
    tmp_path: Path, make: object, expected: str
) -> None:
    root = tmp_path / "site"
    make(root)  # type: ignore[operator]

    assert expected in error_for(root)


def test_a_run_over_a_corrupt_image_stops_with_one_line_and_exit_code_3(
    tmp_path: Path,
) -> None:
    for hospital in ("north", "south"):
        even_shapes(tmp_path / hospital, per_class=3)
    broken = tmp_path / "south" / "cross" / "corrupt.jpg"
    broken.write_bytes(b"\xff\xd8\xff garbage")
    (tmp_path / "federation.toml").write_text(
        'name = "bad-images"\n[task]\nname = "images"\n'
        'classes = ["circle", "square", "triangle", "cross"]\n'
        "image_size = 16\nchannels = 1\n"
        '[[hospital]]\nname = "North"\ndata = "north"\n'
        '[[hospital]]\nname = "South"\ndata = "south"\n'
    )
    env = {**os.environ, "COLUMNS": "400", "FLWR_TELEMETRY_ENABLED": "0"}

    result = subprocess.run(
        [sys.executable, "-m", "fedcluster", "run", "-f", "federation.toml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 3
    assert "Traceback" not in result.stdout + result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.strip()]
    assert line.startswith("error: hospital 'South': ")
    assert str(broken) in line and "unreadable" in line
