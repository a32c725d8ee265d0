"""stackgan_lite: StackGAN (Zhang et al., 2017) and StackGAN++ as small, readable, tested modules.

The data flow follows the paper's Figure 2:
caption → text embedding phi_t → Conditioning Augmentation → Stage-I → Stage-II → metrics.
"""

from stackgan_lite import presets
from stackgan_lite.conditioning import ConditioningAugmentation, kl_divergence
from stackgan_lite.presets import Preset
from stackgan_lite.stage1 import Stage1Discriminator, Stage1Generator
from stackgan_lite.stage2 import Stage2Discriminator, Stage2Generator

__version__ = "0.1.0"

__all__ = [
    "ConditioningAugmentation",
    "Preset",
    "Stage1Discriminator",
    "Stage1Generator",
    "Stage2Discriminator",
    "Stage2Generator",
    "__version__",
    "kl_divergence",
    "presets",
]
