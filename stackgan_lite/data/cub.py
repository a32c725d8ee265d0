"""CUB-200-2011 birds with the StackGAN authors' char-CNN-RNN embeddings.

Layout (`root` is `birds/` or its parent):

    birds/CUB_200_2011/images/<key>.jpg        the Caltech release
    birds/CUB_200_2011/images.txt              "<image id> <key>.jpg"
    birds/CUB_200_2011/bounding_boxes.txt      "<image id> <x> <y> <width> <height>"
    birds/{train,test}/filenames.pickle, char-CNN-RNN-embeddings.pickle, class_info.pickle
    birds/text/<key>.txt                       (or text_c10/) 10 captions per image

80 % of CUB birds cover less than half of their image, so each image is first cropped around
its bounding box (see `legacy.box_crop`); the rest is shared with Oxford-102 in `legacy`.
"""

from __future__ import annotations

from pathlib import Path

from stackgan_lite.data.check import boxes_by_key, parse_table
from stackgan_lite.data.legacy import Box, LegacyTextImageDataset

__all__ = ["CUBDataset"]


class CUBDataset(LegacyTextImageDataset):
    """A split of CUB-200-2011 (8,855 train / 2,933 test images) in the authors' layout.

    >>> data = CUBDataset("data/birds", "train")  # doctest: +SKIP
    >>> image1, image2, embedding, caption, labels = data[0]  # 64 px, 256 px, [1024], str, [1]
    """

    name = "cub"
    folder = "birds"
    source = (
        "The images are CUB-200-2011 (Caltech), the pickles and captions the StackGAN "
        "authors' birds.zip"
    )

    def locate_images(self) -> tuple[list[Path], list[Box | None]]:
        cub = self._require_dir(self.root / "CUB_200_2011", "the extracted CUB_200_2011.tgz")
        images_txt = cub / "images.txt"
        expected_images = "lines '<image id> <class folder>/<name>.jpg'"
        paths = self._read_table(images_txt, 1, expected_images)
        boxes = self._read_table(
            cub / "bounding_boxes.txt",
            4,
            "lines '<image id> <x> <y> <width> <height>'",
            numeric=True,
        )
        box_of_key = {
            key: tuple(map(float, box)) for key, box in boxes_by_key(paths, boxes).items()
        }
        for key in self.keys:
            if key not in box_of_key:
                raise self._error(
                    images_txt,
                    f"no image id with a bounding box for {key!r}",
                    expected_images,
                    missing=True,
                )
        image_paths = [
            self._first_file([cub / "images" / f"{key}.jpg"], "a CUB-200-2011 JPEG image")
            for key in self.keys
        ]
        return image_paths, [box_of_key[key] for key in self.keys]

    def _read_table(
        self, path: Path, columns: int, expected: str, numeric: bool = False
    ) -> dict[str, list[str]]:
        """`parse_table` on a file, its problems raised as this dataset's errors."""
        self._first_file([path], expected)
        try:
            return parse_table(path.read_text(), columns, numeric)
        except ValueError as error:
            raise self._error(path, str(error), expected) from None
