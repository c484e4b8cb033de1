"""Where recordings and frame captures are kept: Weir's own folder or an external bucket (S3, GCS, Azure)."""
