"""Codec payload formats: keyframe and layer detection and in-place id rewrites; never any decoding."""
