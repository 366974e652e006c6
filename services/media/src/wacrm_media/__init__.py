"""wacrm media worker: probes, thumbnails and transcodes media into S3."""
