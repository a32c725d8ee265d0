"""check_cub: every problem of a CUB tree at once, each with where to get the file; on miniature
trees built in tmp_path. Where the checker says a tree is fine or names a missing file, CUBDataset
must agree, so a reader who fixed what the report listed never meets another error."""

from __future__ import annotations

import os
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from stackgan_lite import presets
from stackgan_lite.data import DataCheck, check_cub
from stackgan_lite.data.check import CAPTIONS_PER_IMAGE, CUB_SOURCES
from stackgan_lite.data.cub import CUBDataset
from stackgan_lite.data.legacy import CAPTIONS_PER_IMAGE as DATASET_CAPTIONS
from stackgan_lite.data.legacy import DataNotFoundError, DatasetError
from stackgan_lite.data.miniature import write_miniature_cub

CALTECH = "vision.caltech.edu/datasets/cub_200_2011"
STACKGAN = "github.com/hanzhanggit/StackGAN"
REED = "github.com/reedscot/cvpr2016"


@pytest.fixture
def birds(tmp_path: Path) -> Path:
    return write_miniature_cub(tmp_path)


def _dump(path: Path, obj: object) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def _only_problem(report: DataCheck):
    assert len(report.problems) == 1, str(report)
    return report.problems[0]


def test_a_complete_tree_is_ready_and_the_dataset_agrees(birds):
    for root in (birds, birds.parent):  # birds/ or its parent, as CUBDataset accepts
        report = check_cub(root)
        assert report.ok and report.problems == () and report.missing == ()
        assert report.root == birds
        assert report.images == {"train": 6, "test": 3}
        assert str(report).startswith(f"CUB-200-2011 at {birds}: ready (train 6 images")
        report.raise_for_problems()  # nothing to raise
    # a partial tree is worth a note, not a problem
    assert any("8,855" in note for note in report.notes)
    for split, n in report.images.items():
        assert len(CUBDataset(birds, split)) == n


def test_the_constant_matches_the_dataset():
    assert CAPTIONS_PER_IMAGE == DATASET_CAPTIONS


def test_nothing_downloaded_lists_every_download(tmp_path):
    report = check_cub(tmp_path / "data" / "birds")
    assert not report.ok and report.images == {}
    assert len(report.missing) == len(report.problems) == 4
    named = {p.path.name: p.source for p in report.problems}
    assert set(named) == {"CUB_200_2011", "train", "test", "text"}
    assert CALTECH in named["CUB_200_2011"]
    assert STACKGAN in named["train"] and STACKGAN in named["test"]
    assert REED in named["text"] and "birds.zip" in named["text"]
    text = str(report)
    assert "4 problems" in text and "does not exist" in text and "data/README.md" in text
    with pytest.raises(DataNotFoundError, match="CUB_200_2011: folder not found"):
        report.raise_for_problems()


@pytest.mark.parametrize(
    ("relative", "source"),
    [
        ("train/class_info.pickle", "text data"),
        ("test/char-CNN-RNN-embeddings.pickle", "text data"),
        ("train/filenames.pickle", "text data"),
        ("CUB_200_2011/bounding_boxes.txt", "images"),
        ("CUB_200_2011/images/005.Bird_5/Bird_5_0007.jpg", "images"),
        ("text/004.Bird_4/Bird_4_0006.txt", "captions"),
    ],
)
def test_one_missing_file_is_named_with_its_download(birds, relative, source):
    (birds / relative).unlink()
    problem = _only_problem(check_cub(birds))
    assert problem.path == birds / relative and problem.missing
    assert problem.problem.startswith("not found") and problem.source == CUB_SOURCES[source]
    # the dataset stops at the same file (classes 4 to 6 are the miniature's test split)
    split = "test" if relative.startswith("test") or re.search("Bird_[456]", relative) else "train"
    with pytest.raises(DataNotFoundError, match=re.escape(relative)):
        CUBDataset(birds, split)


def test_every_problem_is_reported_at_once(birds):
    (birds / "train" / "class_info.pickle").unlink()
    shutil.rmtree(birds / "text")
    _dump(birds / "test" / "char-CNN-RNN-embeddings.pickle", np.zeros((3, 10, 512), np.float32))
    report = check_cub(birds)
    found = {(p.path.relative_to(birds).as_posix(), p.missing) for p in report.problems}
    assert found == {
        ("train/class_info.pickle", True),
        ("text", True),
        ("test/char-CNN-RNN-embeddings.pickle", False),
    }
    assert "3 problems" in str(report) and "nor text_c10/" in str(report)


def test_many_missing_images_make_one_counted_problem(birds):
    jpegs = sorted((birds / "CUB_200_2011" / "images").rglob("*.jpg"))
    for path in jpegs:
        path.unlink()
    report = check_cub(birds)
    assert [p.path.parent.parent.name for p in report.problems] == ["images", "images"]
    train = report.problems[0].problem
    assert "6 of the 6 train images have none" in train and "and 3 more" in train
    assert "3 of the 3 test images" in report.problems[1].problem


@pytest.mark.parametrize(
    ("shape", "message"),
    [((6, 10, 512), r"got shape \(6, 10, 512\)"), ((6, 1024), r"got shape \(6, 1024\)")],
)
def test_wrong_embedding_shape_is_malformed_not_missing(birds, shape, message):
    path = birds / "train" / "char-CNN-RNN-embeddings.pickle"
    _dump(path, np.zeros(shape, np.float32))
    report = check_cub(birds)
    problem = _only_problem(report)
    assert problem.path == path and not problem.missing
    assert re.search(message, problem.problem) and "(6, 10, 1024)" in problem.expected
    with pytest.raises(DatasetError) as raised:
        report.raise_for_problems()
    assert not isinstance(raised.value, DataNotFoundError)


def test_the_embedding_size_follows_the_preset(tmp_path):
    birds = write_miniature_cub(tmp_path, text_dim=64)
    wrong = check_cub(birds)  # preset cub: 1024
    assert [p.path.parent.name for p in wrong.problems] == ["train", "test"]
    assert check_cub(birds, presets.get("cub").replace(text_dim=64)).ok


@pytest.mark.parametrize("classes", [[0, 1, 2, 3, 4, 5], [1, 2, 3], "abc", [1.5] * 6])
def test_bad_class_info(birds, classes):
    _dump(birds / "train" / "class_info.pickle", classes)
    problem = _only_problem(check_cub(birds))
    assert problem.path.name == "class_info.pickle" and "6 class numbers" in problem.expected


def test_corrupt_and_malicious_pickles_are_reported_not_run(birds, tmp_path):
    (birds / "train" / "filenames.pickle").write_bytes(b"\x80\x02]q\x00(X")

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {tmp_path / 'pwned'}",)

    _dump(birds / "test" / "class_info.pickle", [Exploit()])
    report = check_cub(birds)
    problems = {p.path.relative_to(birds).as_posix(): p.problem for p in report.problems}
    assert problems["train/filenames.pickle"].startswith("cannot read the pickle")
    assert problems["test/class_info.pickle"].startswith("refused to load the global")
    assert not (tmp_path / "pwned").exists()
    assert report.images == {"test": 3}  # train's keys could not be read


@pytest.mark.parametrize(
    ("name", "line"),
    [("images.txt", ""), ("images.txt", "7"), ("bounding_boxes.txt", "1 10.0 x 5.0 5.0")],
)
def test_malformed_table_line(birds, name, line):
    path = birds / "CUB_200_2011" / name
    lines = path.read_text().splitlines()
    path.write_text("\n".join([line, *lines[1:]]) + "\n")
    problem = _only_problem(check_cub(birds))
    assert problem.path == path and problem.problem == f"line 1 reads {line!r}"


def test_a_key_without_a_bounding_box(birds):
    path = birds / "CUB_200_2011" / "images.txt"
    path.write_text("".join(line + "\n" for line in path.read_text().splitlines()[1:]))
    problem = _only_problem(check_cub(birds))
    assert problem.path == path and "1 of 6 train images" in problem.problem
    with pytest.raises(DataNotFoundError, match="no image id with a bounding box"):
        CUBDataset(birds, "train")


def test_short_caption_files_are_counted(birds):
    files = sorted((birds / "text").rglob("*.txt"))
    for path in files[:2]:
        path.write_text("only one caption\n\n")
    problem = _only_problem(check_cub(birds))
    assert problem.problem == "1 non-empty line (and 1 more short caption files)"
    assert f"{CAPTIONS_PER_IMAGE} captions" in problem.expected


def test_text_c10_is_accepted_with_a_note(tmp_path):
    birds = write_miniature_cub(tmp_path, text_folder="text_c10")
    report = check_cub(birds)
    assert report.ok and any("text_c10" in note for note in report.notes)
