"""stackgan_lite: StackGAN (Zhang et al., 2017) and StackGAN++ as small, readable, tested modules.

The data flow follows the paper's Figure 2:
caption → text embedding phi_t → Conditioning Augmentation → Stage-I → Stage-II → metrics.
"""

from stackgan_lite import presets
from stackgan_lite.presets import Preset

__version__ = "0.1.0"

__all__ = ["Preset", "__version__", "presets"]
