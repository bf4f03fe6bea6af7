"""Named model variants: the shipped default, the paper's UPCDM, its ablations M1-M3, the baseline.

Every variant is the same code with different switches (DESIGN §5.2):

- ``upcdm``: seed 000's model, BatchNorm ResBlocks, CBAM, control branch with persona.
- ``m1``: plain ResBlock (no normalisation in the block).
- ``m2``: no CBAM.
- ``m3``: no profile control (the control branch sees the control image, not the persona).
- ``groupnorm``: GroupNorm ResBlocks instead of BatchNorm, and the persona's embedding reaches the
  UNet's own ResBlocks too (``persona_temb_channels``), not only the control branch, and the
  control branch names the persona's scene style with a style head (``style_classes``).
- ``m2_groupnorm``: M2 of the shipped ``groupnorm`` model (no CBAM).
- ``m3_groupnorm``: M3 of the shipped ``groupnorm`` model (no profile control), so that the
  profile control's worth is measured on the model we ship.
- ``baseline``: a plain diffusers ``UNet2DModel``, control image and persona as input channels.
"""

from __future__ import annotations

from diffusers import UNet2DModel

from generation.model.condition import PERSONA_VECTOR_LENGTH
from generation.model.control import CONTROL_CHANNELS
from generation.model.controlnet_upcdm import UPCDMControlNet
from generation.model.unet_upcdm import UPCDMUNet
from generation.rendering.scenes import SCENE_STYLE_CHOICES

VARIANTS = {
    "upcdm": dict(norm_type="batch", use_cbam=True, persona=True),
    "m1": dict(norm_type="none", use_cbam=True, persona=True),
    "m2": dict(norm_type="batch", use_cbam=False, persona=True),
    "m3": dict(norm_type="batch", use_cbam=True, persona=False),
    "groupnorm": dict(norm_type="group", use_cbam=True, persona=True, persona_to_unet=True, style_head=True),
    "m2_groupnorm": dict(norm_type="group", use_cbam=False, persona=True, persona_to_unet=True, style_head=True),
    "m3_groupnorm": dict(norm_type="group", use_cbam=True, persona=False),
    "baseline": None,
}
DEFAULT_BLOCK_CHANNELS = (32, 64, 128)


def build_models(variant: str, sample_size: int = 64, block_channels=DEFAULT_BLOCK_CHANNELS, layers_per_block: int = 1):
    """Return (unet, controlnet or None) for a variant, freshly initialised."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: use one of {list(VARIANTS)}")
    block_channels = tuple(block_channels)
    if variant == "baseline":
        levels = len(block_channels)
        unet = UNet2DModel(
            sample_size=sample_size,
            in_channels=3 + CONTROL_CHANNELS + PERSONA_VECTOR_LENGTH,
            out_channels=3,
            block_out_channels=block_channels,
            layers_per_block=layers_per_block + 1,
            down_block_types=("DownBlock2D",) * levels,
            up_block_types=("UpBlock2D",) * levels,
            norm_num_groups=8,
        )
        return unet, None
    switches = VARIANTS[variant]
    unet = UPCDMUNet(
        sample_size=sample_size,
        block_channels=block_channels,
        layers_per_block=layers_per_block,
        norm_type=switches["norm_type"],
        use_cbam=switches["use_cbam"],
        # the control branch's persona embedding has the timestep embedding's width, 4x the first level
        persona_temb_channels=4 * block_channels[0] if switches.get("persona_to_unet") else 0,
    )
    persona_dim = PERSONA_VECTOR_LENGTH if switches["persona"] else 0
    style_classes = tuple(len(choices) for choices in SCENE_STYLE_CHOICES.values()) if switches.get("style_head") else ()
    controlnet = UPCDMControlNet.from_unet(unet, control_channels=CONTROL_CHANNELS, persona_dim=persona_dim,
                                           style_classes=style_classes)
    return unet, controlnet
