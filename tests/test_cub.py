"""CUB-200-2011 and Oxford-102 in the authors' layout, on miniature trees built in tmp_path."""

import os
import pickle
import re

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn.functional import avg_pool2d
from torch.utils.data import DataLoader

from stackgan_lite.data import Sample
from stackgan_lite.data.cub import CUBDataset
from stackgan_lite.data.flowers import FlowersDataset
from stackgan_lite.data.legacy import DataNotFoundError, DatasetError, box_crop
from stackgan_lite.data.miniature import write_miniature_cub, write_miniature_flowers
from stackgan_lite.data.pickles import UnsafePickleError

RED, GREEN, BLUE = (220, 20, 20), (20, 220, 20), (20, 20, 220)


@pytest.fixture
def birds(tmp_path):
    return write_miniature_cub(tmp_path)


@pytest.fixture
def flowers(tmp_path):
    return write_miniature_flowers(tmp_path)


def _save_jpeg(path, regions, size=(200, 100), background=BLUE):
    """A JPEG of `size` filled with `background` and the (box, colour) `regions`."""
    pixels = np.full((size[1], size[0], 3), background, dtype=np.uint8)
    for (x, y, w, h), colour in regions:
        pixels[y : y + h, x : x + w] = colour
    Image.fromarray(pixels).save(path, quality=95)


def _colour_share(image, colour):
    """The share of pixels of a [3, H, W] image in [-1, 1] closest to `colour` among R, G, B."""
    rgb = torch.tensor([RED, GREEN, BLUE], dtype=torch.float32) / 127.5 - 1
    distances = ((image.permute(1, 2, 0)[..., None, :] - rgb) ** 2).sum(-1)
    index = [RED, GREEN, BLUE].index(colour)
    return (distances.argmin(-1) == index).float().mean().item()


# --- shapes, ranges, collate ---


@pytest.mark.parametrize("dataset", [CUBDataset, FlowersDataset])
@pytest.mark.parametrize("split", ["train", "test"])
def test_samples_have_both_sides_in_range_and_collate(tmp_path, dataset, split):
    write_miniature_cub(tmp_path)
    write_miniature_flowers(tmp_path)
    data = dataset(tmp_path, split)  # the parent folder works as well as birds/ or flowers/
    assert len(data) == {"train": 6, "test": 3}[split]
    sample = data[0]
    assert sample.image1.shape == (3, 64, 64) and sample.image2.shape == (3, 256, 256)
    for image in (sample.image1, sample.image2):
        assert image.dtype == torch.float32
        assert -1 <= image.min() < image.max() <= 1
    assert sample.embedding.shape == (1024,) and sample.embedding.dtype == torch.float32
    assert sample.labels.dtype == torch.long and sample.labels.shape == (1,)

    batch = next(iter(DataLoader(data, batch_size=3)))
    assert isinstance(batch, Sample)
    assert batch.image1.shape == (3, 3, 64, 64) and batch.image2.shape == (3, 3, 256, 256)
    assert batch.embedding.shape == (3, 1024) and batch.labels.shape == (3, 1)
    assert len(batch.caption) == 3 and all(isinstance(c, str) for c in batch.caption)


def test_stage1_only_skips_the_stage2_image(birds):
    sample = CUBDataset(birds, "train", stage2=False)[0]
    assert sample.image1.shape == (3, 64, 64) and sample.image2.numel() == 0


def test_sides_follow_the_preset(birds):
    from stackgan_lite import presets

    sample = CUBDataset(birds, "test", presets.get("cub").replace(stage1_side=16, stage2_side=64))[
        0
    ]
    assert sample.image1.shape == (3, 16, 16) and sample.image2.shape == (3, 64, 64)


# --- crops and flips ---


def test_box_crop_is_centred_on_the_box_and_clipped_to_the_image():
    # half-side 0.75 × max(w, h) = 30 around the centre (40, 25)
    assert box_crop((20, 10, 40, 30), 200, 100) == (10, 0, 70, 55)
    assert box_crop((80, 40, 20, 10), 100, 50) == (75, 30, 100, 50)


@pytest.mark.parametrize("split", ["train", "test"])
def test_cub_crops_around_the_bounding_box_and_flowers_keep_the_whole_image(birds, flowers, split):
    # Blue image, red bird in its bounding box, a green band far right of the crop.
    regions = [((20, 10, 40, 30), RED), ((150, 0, 50, 100), GREEN)]
    key = CUBDataset(birds, split).keys[0]
    _save_jpeg(birds / "CUB_200_2011" / "images" / f"{key}.jpg", regions)
    table = birds / "CUB_200_2011" / "bounding_boxes.txt"
    rows = {"train": 0, "test": 6}[split]  # the test images follow the train ones in the table
    lines = table.read_text().splitlines()
    lines[rows] = f"{rows + 1} 20.0 10.0 40.0 30.0"
    table.write_text("\n".join(lines) + "\n")
    _save_jpeg(flowers / f"{FlowersDataset(flowers, split).keys[0]}.jpg", regions)

    cub = CUBDataset(birds, split)
    for epoch in range(4):  # train: whatever the random crop and flip
        cub.set_epoch(epoch)
        sample = cub[0]
        for image in (sample.image1, sample.image2):
            assert _colour_share(image, GREEN) == 0  # outside the crop
            assert _colour_share(image, RED) > 0.3  # the bird fills much of the crop
            assert _colour_share(image, BLUE) > 0.05  # with some background around it
        if split == "test":  # centre crop: the bird is in the middle
            middle = sample.image1[:, 32, 32]
            assert torch.allclose(middle, torch.tensor(RED) / 127.5 - 1, atol=0.1)
    flower = FlowersDataset(flowers, split)[0].image1
    assert _colour_share(flower, GREEN) > 0.05  # the whole image: the green band is there


def test_train_views_vary_and_both_sides_show_the_same_view(flowers):
    # Left half red, right half blue: a flip swaps the colours of the left column.
    data = FlowersDataset(flowers, "train")
    _save_jpeg(data.image_paths[0], [((0, 0, 100, 100), RED)])
    left_is_red, views = [], set()
    for epoch in range(16):
        data.set_epoch(epoch)
        sample = data[0]
        # Stage-II image, averaged down to the Stage-I side: the same view.
        pooled = avg_pool2d(sample.image2[None], 4)[0]
        assert (pooled - sample.image1).abs().mean() < 0.03
        left_is_red.append(_colour_share(sample.image1[:, :, :8], RED) > 0.9)
        views.add(sample.image1.numpy().tobytes())
    assert 0 < sum(left_is_red) < 16  # flipped in some epochs only
    assert len(views) > 4  # random crops


def test_test_split_is_deterministic_centre_crop_without_flip(flowers):
    data = FlowersDataset(flowers, "test")
    _save_jpeg(data.image_paths[0], [((0, 0, 100, 100), RED)])
    first = data[0]
    for epoch in (1, 7):
        data.set_epoch(epoch)
        again = data[0]
        assert torch.equal(again.image1, first.image1) and torch.equal(again.image2, first.image2)
        assert torch.equal(again.embedding, first.embedding) and again.caption == first.caption
    assert _colour_share(first.image1[:, :, :8], RED) > 0.9  # not flipped


# --- embeddings, captions, class ids ---


def _rows(data, index, epochs):
    """The embedding row drawn for `index` in each epoch, checked against its caption."""
    rows = []
    for epoch in epochs:
        data.set_epoch(epoch)
        sample = data[index]
        matches = [
            k
            for k in range(10)
            if torch.equal(sample.embedding, torch.from_numpy(data.embeddings[index, k]))
        ]
        assert len(matches) == 1
        assert sample.caption == f"caption {matches[0]} of {data.keys[index]}"
        rows.append(matches[0])
    return rows


def test_one_of_the_ten_embeddings_is_drawn_per_epoch_reproducibly(birds):
    def data(split, seed):
        return CUBDataset(birds, split, seed=seed, stage2=False)

    rows = _rows(data("train", 3), 2, range(30))
    assert len(set(rows)) > 3  # varies across epochs
    assert _rows(data("train", 3), 2, range(30)) == rows  # same seed
    assert _rows(data("train", 4), 2, range(30)) != rows  # another seed
    test = data("test", 3)
    assert len(set(_rows(test, 1, range(5)))) == 1  # the test split ignores the epoch


def test_batches_do_not_depend_on_the_number_of_workers(birds):
    data = CUBDataset(birds, "train", stage2=False)
    data.set_epoch(5)
    batches = [next(iter(DataLoader(data, batch_size=6, num_workers=n))) for n in (0, 2)]
    assert torch.equal(batches[0].image1, batches[1].image1)
    assert torch.equal(batches[0].embedding, batches[1].embedding)


def test_class_ids_are_zero_based(birds, flowers):
    cub = CUBDataset(birds, "train")
    # the miniature keys start with the 1-based class number: "002.Bird_2/..."
    assert [int(k[:3]) - 1 for k in cub.keys] == [cub[i].labels.item() for i in range(len(cub))]
    assert FlowersDataset(flowers, "test").class_ids.tolist() == [0, 1, 2]


@pytest.mark.parametrize("folder", ["text", "text_c10"])
def test_captions_in_text_or_text_c10(tmp_path, folder):
    birds = write_miniature_cub(tmp_path, text_folder=folder)
    data = CUBDataset(birds, "test")
    assert data.captions[1] == [f"caption {k} of {data.keys[1]}" for k in range(10)]
    flowers = write_miniature_flowers(tmp_path, text_folder=folder, captions_by_class=True)
    data = FlowersDataset(flowers, "test")
    assert (flowers / folder / "class_00002" / "image_00008.txt").is_file()
    assert data.captions[1] == [f"caption {k} of jpg/image_00008" for k in range(10)]


def test_flowers_images_under_jpg_with_bare_keys(flowers):
    with open(flowers / "test" / "filenames.pickle", "wb") as f:
        pickle.dump(["image_00007", "image_00008", "image_00009"], f, protocol=2)
    for name in os.listdir(flowers / "text" / "jpg"):
        os.rename(flowers / "text" / "jpg" / name, flowers / "text" / name)
    data = FlowersDataset(flowers, "test")
    assert data.image_paths[0] == flowers / "jpg" / "image_00007.jpg"
    assert data[0].image1.shape == (3, 64, 64)


# --- errors ---


def _dump(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def test_missing_folder_names_it_and_points_to_the_readme(tmp_path):
    with pytest.raises(
        DataNotFoundError, match=r"nowhere/train: folder not found.*data/README\.md"
    ):
        CUBDataset(tmp_path / "nowhere", "train")
    assert issubclass(DataNotFoundError, FileNotFoundError)


@pytest.mark.parametrize(
    "relative",
    [
        "train/class_info.pickle",
        "test/char-CNN-RNN-embeddings.pickle",
        "CUB_200_2011/bounding_boxes.txt",
        "CUB_200_2011/images/005.Bird_5/Bird_5_0007.jpg",
        "text/004.Bird_4/Bird_4_0006.txt",
    ],
)
def test_missing_file_names_it_and_points_to_the_readme(birds, relative):
    (birds / relative).unlink()
    split = "train" if relative.startswith("train") else "test"
    pattern = rf"{re.escape(relative)}: not found.*CUB-200-2011.*data/README\.md"
    with pytest.raises(DataNotFoundError, match=pattern):
        CUBDataset(birds, split)


def test_missing_text_folder(birds):
    (birds / "text").rename(birds / "captions")
    with pytest.raises(DataNotFoundError, match=r"birds/text: folder not found \(nor text_c10/\)"):
        CUBDataset(birds, "train")


@pytest.mark.parametrize("shape", [(6, 10, 512), (5, 10, 1024), (6, 1024)])
def test_wrong_embedding_shape_names_the_expected_shape(birds, shape):
    _dump(birds / "train" / "char-CNN-RNN-embeddings.pickle", np.zeros(shape, np.float32))
    pattern = (
        rf"char-CNN-RNN-embeddings\.pickle: got shape \({', '.join(map(str, shape))}\); "
        r"expected an array of shape \(6, 10, 1024\).*data/README\.md"
    )
    with pytest.raises(DatasetError, match=pattern):
        CUBDataset(birds, "train")


@pytest.mark.parametrize("classes", [[0, 1, 2, 3, 4, 5], [1, 2, 3], "abc"])
def test_bad_class_info(birds, classes):
    _dump(birds / "train" / "class_info.pickle", classes)
    with pytest.raises(DatasetError, match=r"class_info\.pickle: .*expected 6 class numbers"):
        CUBDataset(birds, "train")


def test_too_few_captions(flowers):
    path = flowers / "text" / "jpg" / "image_00002.txt"
    path.write_text("only one caption\n\n")
    with pytest.raises(DatasetError, match=r"image_00002\.txt: 1 non-empty lines; expected 10"):
        FlowersDataset(flowers, "train")


def test_corrupt_pickle_and_malicious_pickle(birds, tmp_path):
    (birds / "train" / "filenames.pickle").write_bytes(b"\x80\x02]q\x00(X")
    with pytest.raises(DatasetError, match=r"filenames\.pickle: cannot read the pickle"):
        CUBDataset(birds, "train")

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {tmp_path / 'pwned'}",)

    _dump(birds / "test" / "class_info.pickle", [Exploit()])
    with pytest.raises(UnsafePickleError, match=r"class_info\.pickle: refused"):
        CUBDataset(birds, "test")
    assert not (tmp_path / "pwned").exists()


def test_corrupt_jpeg_names_the_file(birds, tmp_path):
    data = CUBDataset(birds, "test")
    path = data.image_paths[2]
    path.write_bytes(path.read_bytes()[:300])  # truncated
    with pytest.raises(DatasetError, match=rf"{path.name}: cannot decode the image.*data/README"):
        data[2]
    cache_dir = tmp_path / "cache"
    with pytest.raises(DatasetError, match=rf"{path.name}: cannot decode the image"):
        CUBDataset(birds, "test", cache=True, cache_dir=cache_dir)
    assert os.listdir(cache_dir) == []  # no cache, and no temporary file left behind


# --- the cache ---


def test_cache_gives_the_same_samples_and_is_read_instead_of_the_jpegs(birds, tmp_path):
    cache_dir = tmp_path / "cache"
    plain = CUBDataset(birds, "train", seed=1)
    cached = CUBDataset(birds, "train", seed=1, cache=True, cache_dir=cache_dir)
    assert sorted(os.listdir(cache_dir)) == [
        cached.cache_path(304).name,
        cached.cache_path(76).name,
    ]
    assert cached.cache_path(76).name.startswith("cub-train-76px-v1-")
    for epoch in (0, 3):
        plain.set_epoch(epoch)
        cached.set_epoch(epoch)
        for index in range(len(plain)):
            a, b = plain[index], cached[index]
            assert torch.equal(a.image1, b.image1) and torch.equal(a.image2, b.image2)
            assert torch.equal(a.embedding, b.embedding) and a.caption == b.caption

    # Later runs read the cache: neither rewritten nor affected by the JPEGs.
    stamp = os.stat(cached.cache_path(76)).st_mtime_ns
    cached.set_epoch(0)
    expected = cached[1].image1
    _save_jpeg(cached.image_paths[1], [])
    again = CUBDataset(birds, "train", seed=1, cache=True, cache_dir=cache_dir)
    assert os.stat(again.cache_path(76)).st_mtime_ns == stamp
    assert torch.equal(again[1].image1, expected)
    assert not torch.equal(CUBDataset(birds, "train", seed=1)[1].image1, expected)

    # Through spawned-style pickling (the memory maps are reopened) and worker processes.
    blob = pickle.dumps(again)
    assert len(blob) < 1_000_000  # without the 304-px cache (1.7 MB): the worker maps it
    batch = next(iter(DataLoader(pickle.loads(blob), batch_size=2, num_workers=1)))
    assert torch.equal(batch.image1[1], expected)
