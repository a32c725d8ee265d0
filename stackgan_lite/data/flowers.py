"""Oxford-102 flowers with the StackGAN authors' char-CNN-RNN embeddings.

Layout (`root` is `flowers/` or its parent); keys read `jpg/image_xxxxx`:

    flowers/jpg/image_xxxxx.jpg                the VGG release (102flowers.tgz)
    flowers/{train,test}/filenames.pickle, char-CNN-RNN-embeddings.pickle, class_info.pickle
    flowers/text/<key>.txt                     10 captions per image; Reed et al.'s text_c10/
                                               files them by class: class_00077/image_xxxxx.txt

No bounding boxes: the whole image is resized (see `legacy` for the shared pipeline).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from stackgan_lite.data.legacy import Box, LegacyTextImageDataset

__all__ = ["FlowersDataset"]


class FlowersDataset(LegacyTextImageDataset):
    """A split of Oxford-102 (7,034 train / 1,155 test images) in the authors' layout.

    >>> data = FlowersDataset("data/flowers", "test")  # doctest: +SKIP
    >>> image1, image2, embedding, caption, labels = data[0]  # 64 px, 256 px, [1024], str, [1]
    """

    name = "flowers"
    folder = "flowers"
    source = (
        "The images are Oxford-102 (VGG), the pickles the StackGAN authors' flowers.zip and "
        "the captions Reed et al.'s text_c10"
    )

    def locate_images(self) -> tuple[list[Path], list[Box | None]]:
        paths = [
            self._first_file(
                [self.root / f"{key}.jpg", self.root / "jpg" / f"{PurePosixPath(key).name}.jpg"],
                "an Oxford-102 JPEG image",
            )
            for key in self.keys
        ]
        return paths, [None] * len(paths)

    def caption_names(self, index: int) -> list[str]:
        name = PurePosixPath(self.keys[index]).name
        return [self.keys[index], f"class_{self.class_ids[index] + 1:05d}/{name}"]
