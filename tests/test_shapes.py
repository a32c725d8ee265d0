import re

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from stackgan_lite import presets
from stackgan_lite.data import Sample, build_dataset, shapes
from stackgan_lite.data.shapes import (
    ATTRIBUTES,
    HELD_OUT,
    NUM_CLASSES,
    SYNONYMS,
    ShapesDataset,
    area_downsample,
    class_index,
    contrast_labels,
    is_held_out,
    render,
    sample_scenes,
)


def dataset(split="train", size=64, seed=0, **kwargs):
    return ShapesDataset("lite", split, size, seed, with_embedding="embed_fn" in kwargs, **kwargs)


def test_attribute_table_classes_and_held_out_pairs():
    assert list(ATTRIBUTES) == ["shape", "colour", "size", "position", "background", "pattern"]
    assert NUM_CLASSES == len(ATTRIBUTES["shape"]) * len(ATTRIBUTES["colour"]) == 24
    every = np.array([[s, c, 0, 0, 0, 0] for s in range(4) for c in range(6)])
    assert sorted(class_index(every).tolist()) == list(range(NUM_CLASSES))
    assert class_index(torch.from_numpy(every)).dtype == torch.int64
    assert is_held_out(every).sum() == len(HELD_OUT) == 4
    # every shape and every colour still occurs in training: only the pairs are held out
    assert {s for s, _ in HELD_OUT} == set(ATTRIBUTES["shape"])
    assert len({c for _, c in HELD_OUT}) == len(HELD_OUT)


def test_same_seed_same_bytes_and_a_different_seed_differs():
    a, b, c = dataset(seed=3), dataset(seed=3), dataset(seed=4)
    assert torch.equal(a.images2, b.images2) and torch.equal(a.images1, b.images1)
    assert a.captions == b.captions
    assert not torch.equal(a.images2, c.images2)
    assert a.captions != c.captions


def test_sample_i_does_not_depend_on_the_split_size():
    small, big = dataset(size=20), dataset(size=90)
    assert torch.equal(small.images2, big.images2[:20])
    assert small.captions == big.captions[:20]


def test_images_have_both_sides_and_stage1_is_the_area_average_of_stage2():
    data = dataset(size=16)
    p = presets.get("lite")
    item = data[5]
    assert item.image1.shape == (3, p.stage1_side, p.stage1_side)
    assert item.image2.shape == (3, p.stage2_side, p.stage2_side)
    assert item.image1.dtype == item.image2.dtype == torch.float32
    assert item.image2.min() >= -1 and item.image2.max() <= 1
    assert item.image2.min() < -0.5 and item.image2.max() > 0.5  # uses the range
    pooled = torch.nn.functional.avg_pool2d(data[5].image2[None], 4)[0]
    assert torch.allclose(pooled, item.image1, atol=2 / 255)


def test_render_any_power_of_two_side_is_a_view_of_the_same_scene():
    scenes = sample_scenes(8, "test", seed=1)
    big = render(scenes, 256)
    assert big.shape == (8, 3, 256, 256) and big.dtype == np.float32
    for side in (8, 16, 32, 64, 128):
        small = render(scenes, side)
        view = area_downsample(big, 256 // side)
        # edges are anti-aliased at each side, so only the outline's pixels differ a little
        assert np.abs(small - view).mean() < 0.01, side
    with pytest.raises(ValueError, match="power of two in"):
        render(scenes, 48)
    with pytest.raises(ValueError, match="power of two in"):
        render(scenes, 512)


def test_held_out_pairs_never_in_train_and_present_in_test():
    train = sample_scenes(5000, "train", seed=0).labels
    test = sample_scenes(600, "test", seed=0).labels
    assert not is_held_out(train).any()
    assert is_held_out(test).mean() == pytest.approx(len(HELD_OUT) / NUM_CLASSES, abs=0.05)
    assert len(np.unique(class_index(test))) == NUM_CLASSES
    assert len(np.unique(class_index(train))) == NUM_CLASSES - len(HELD_OUT)
    for k, values in enumerate(ATTRIBUTES.values()):  # every value of every attribute occurs
        assert set(np.unique(train[:, k])) == set(range(len(values)))


def test_splits_are_different_streams():
    train, test, every = (sample_scenes(50, s, seed=0) for s in ("train", "test", "all"))
    assert not np.array_equal(train.centre, test.centre)
    assert not np.array_equal(test.centre, every.centre)
    with pytest.raises(ValueError, match="unknown split 'val'; expected one of train, test, all"):
        dataset(split="val")


def mentions(caption, phrases):
    return any(re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", caption) for p in phrases)


def test_captions_mention_every_attribute_value_and_vary():
    data = dataset(size=60)
    for labels, captions in zip(data.labels.tolist(), data.captions, strict=True):
        assert len(captions) == shapes.CAPTIONS_PER_IMAGE
        for caption in captions:
            for attribute, value in zip(ATTRIBUTES, labels, strict=True):
                assert mentions(caption, SYNONYMS[attribute][value]), (attribute, caption)
                others = [p for v, ps in enumerate(SYNONYMS[attribute]) if v != value for p in ps]
                assert not mentions(caption, others), (attribute, caption)
            assert not re.search(r"\ba [aeiou]", caption), caption
    every = {c for cs in data.captions for c in cs}
    assert len(every) > 500  # 600 captions, nearly all distinct
    # each template has its own wording; all of them (and the optional clauses) get used
    for marker in ("backdrop", "there is a", " that is ", " sits ", "canvas", "of the picture"):
        assert any(marker in c for c in every), marker
    for clause in ("this image shows", "here we see", "alone in the frame"):
        assert any(clause in c for c in every), clause


def with_pattern(scenes, pattern):
    labels = scenes.labels.copy()
    labels[:, 5] = pattern
    return scenes._replace(labels=labels)


def test_pattern_shows_at_64_px_but_averages_out_at_16_px():
    scenes = sample_scenes(40, "test", seed=2)
    for pattern in (1, 2, 3):  # stripes, dots, checks
        plain, patterned = with_pattern(scenes, 0), with_pattern(scenes, pattern)
        at64 = np.abs(render(patterned, 64) - render(plain, 64)).max(axis=1)
        at16 = np.abs(render(patterned, 16) - render(plain, 16)).max(axis=1)
        # inside large objects the pattern swings the colour by about ±0.18 at 64 px …
        assert np.percentile(at64, 99) > 0.15, pattern
        # … and is gone at 16 px, apart from pixels that straddle the outline
        assert np.median(at16[at16 > 0]) < 0.03, pattern
        assert at16.mean() < at64.mean() / 4, pattern


def test_default_collate_and_embeddings_follow_the_caption():
    def fake_embed(captions):  # a deterministic function of the caption text
        return torch.tensor([[len(c), c.count("a")] for c in captions], dtype=torch.float32)

    data = dataset(size=12, embed_fn=fake_embed)
    batch = next(iter(DataLoader(data, batch_size=4)))
    assert isinstance(data[0], Sample) and isinstance(batch, Sample)  # the type every dataset uses
    assert batch.image1.shape == (4, 3, 16, 16) and batch.image2.shape == (4, 3, 64, 64)
    assert batch.labels.shape == (4, 6) and batch.labels.dtype == torch.int64
    assert len(batch.caption) == 4 and all(isinstance(c, str) for c in batch.caption)
    assert batch.embedding.tolist() == fake_embed(batch.caption).tolist()
    no_text = next(iter(DataLoader(dataset(size=12), batch_size=4)))
    assert no_text.embedding.shape == (4, 0)


def test_set_epoch_draws_a_new_deterministic_caption():
    data = dataset(size=40)
    epoch0 = [data[i].caption for i in range(40)]
    data.set_epoch(1)
    epoch1 = [data[i].caption for i in range(40)]
    assert epoch0 != epoch1
    assert all(c in data.captions[i] for i, c in enumerate(epoch1))
    data.set_epoch(0)
    assert [data[i].caption for i in range(40)] == epoch0


def test_contrast_labels_change_exactly_one_attribute_and_never_into_a_held_out_pair():
    labels = sample_scenes(5000, "train").labels
    wrong = contrast_labels(labels, "train")
    changed = wrong != labels
    assert (changed.sum(axis=1) == 1).all()
    assert not is_held_out(wrong).any()
    for k, values in enumerate(ATTRIBUTES.values()):  # every attribute, every value, in range
        assert changed[:, k].mean() > 0.1, k
        assert set(np.unique(wrong[:, k])) == set(range(len(values)))
    assert (contrast_labels(labels[:100], "train") == wrong[:100]).all()  # row i: (seed, split, i)
    test = sample_scenes(2000, "test").labels
    assert is_held_out(contrast_labels(test, "test")).any()  # only training avoids them


def test_contrast_weights_choose_which_attribute_changes():
    labels = sample_scenes(6000, "train").labels
    wrong = contrast_labels(labels, "train", weights={"pattern": 1.0, "shape": 1.0})
    changed = wrong != labels
    assert (changed.sum(axis=1) == 1).all() and not is_held_out(wrong).any()
    share = changed.mean(axis=0)
    assert share[1:5].sum() == 0  # held-out fix-ups move the shape again, never the colour
    assert 0.45 < share[5] < 0.55
    heavy = {**dict.fromkeys(ATTRIBUTES, 1.0), "pattern": 5.0}
    assert 0.47 < (contrast_labels(labels, "train", weights=heavy) != labels)[:, 5].mean() < 0.53
    assert (
        contrast_labels(labels[:50], "train", weights={"pattern": 1, "shape": 1}) == wrong[:50]
    ).all()
    with pytest.raises(ValueError, match="attribute names"):
        contrast_labels(labels, "train", weights={"texture": 1.0})
    with pytest.raises(ValueError, match="positive sum"):
        contrast_labels(labels, "train", weights={"pattern": 0.0})
    # in the dataset: the contrast caption differs from the caption in pattern words only
    data = ShapesDataset(
        "lite", "train", 40, with_embedding=False, contrast=True, contrast_weights={"pattern": 1}
    )
    pattern_words = {w for group in shapes.SYNONYMS["pattern"] for p in group for w in p.split()}
    for i in range(40):
        a, b = (set(re.findall(r"[\w-]+", c)) for c in (data[i].caption, data[i].contrast_caption))
        assert a ^ b and a ^ b <= pattern_words, a ^ b


@pytest.mark.parametrize("stage2", [False, True])
def test_stage2_contrast_weights_reach_only_the_stage2_dataset(monkeypatch, stage2):
    made = []

    class Small(ShapesDataset):  # the preset's dataset, at a size built in a second
        def __init__(self, preset, split, size=None, **kwargs):
            super().__init__(preset, split, 200, **(kwargs | {"with_embedding": False}))
            made.append(kwargs)

    monkeypatch.setattr(shapes, "ShapesDataset", Small)
    lite = presets.get("lite")
    data = build_dataset(lite, "train", stage2=stage2)
    weights = dict(lite.stage2_contrast_weights) if stage2 else None
    assert made[0]["contrast_weights"] == weights
    labels = data.labels.numpy()
    assert data.contrast_captions == data._captions(contrast_labels(labels, "train", 0, weights))
    pattern_only = (contrast_labels(labels, "train", 0, weights) != labels)[:, 5].mean()
    assert (0.35 < pattern_only < 0.65) if stage2 else pattern_only < 0.3  # lite: 1/2 vs 1/6


def test_contrast_captions_are_the_same_sentence_with_one_attribute_changed():
    seen = []

    def spy_embed(captions):
        seen.append(list(captions))
        return torch.arange(len(captions), dtype=torch.float32)[:, None]

    data = dataset(size=30, embed_fn=spy_embed, contrast=True)
    right, wrong = seen
    assert len(right) == len(wrong) == 30 * 10
    words = [set(a.split()) ^ set(b.split()) for a, b in zip(right, wrong, strict=True)]
    assert all(0 < len(w) <= 6 for w in words)  # only the changed attribute's words differ
    sample = data[3]
    slot = int(sample.embedding.item())
    assert sample.contrast.item() == slot  # the same caption slot, from the contrast list
    assert right[slot] == sample.caption and wrong[slot] == sample.contrast_caption
    assert sample.contrast_caption != sample.caption
    # without embeddings (the text encoder's training data): the sentences, still slot by slot
    bare = ShapesDataset("lite", "train", 30, with_embedding=False, contrast=True)
    assert bare[3].caption == sample.caption and bare[3].contrast_caption == wrong[slot]
    assert bare[3].contrast.numel() == 0 and dataset(size=4)[0].contrast_caption == ""
