"""JSON models of external storage configurations (S3, Google Cloud Storage, Azure Blob), by the seed's names.

Weir adds what a self-hosted store needs beyond the seed: ``gcs_custom_endpoint_url``, and in ``azure_blob``
``abs_account_key`` (shared-key auth instead of a service principal) and ``abs_custom_endpoint_url``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

StorageType = Literal["s3", "gcs", "abs"]
STORAGE_NAME_PATTERN = r"^[A-Za-z0-9_\-.]{1,64}$"
# S3 and GCS bucket names, Azure container names: lower-case letters, digits, dots, dashes and underscores.
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9_.\-]{1,62}$"
PATH_PATTERN = r"^[A-Za-z0-9_\-./]{0,200}$"
SECRET = 4096


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class S3Request(Strict):
    s3_region: str = Field(pattern=r"^[a-z0-9\-]{1,32}$", description="The AWS region of the bucket")
    s3_api_key: str | None = Field(default=None, min_length=1, max_length=256,
                                   description="Absent: the default AWS credential chain (an IAM role)")
    s3_secret: str | None = Field(default=None, min_length=1, max_length=SECRET)
    s3_custom_endpoint_url: AnyHttpUrl | None = Field(
        default=None, description="An S3-compatible store (MinIO...); s3_api_key and s3_secret are then required")


class AzureRequest(Strict):
    abs_account_name: str = Field(pattern=r"^[a-z0-9]{3,24}$")
    abs_client_id: str | None = Field(default=None, min_length=1, max_length=256)
    abs_client_secret: str | None = Field(default=None, min_length=1, max_length=SECRET)
    abs_tenant_id: str | None = Field(default=None, min_length=1, max_length=256)
    abs_account_key: str | None = Field(default=None, min_length=1, max_length=SECRET,
                                        description="Shared-key auth, instead of the service principal")
    abs_custom_endpoint_url: AnyHttpUrl | None = Field(
        default=None, description="The account's blob endpoint (e.g. Azurite's http://host:10000/<account>)")


class ExternalStorageFields(Strict):
    """What create and update share; ``bucket`` is the Azure container for ``abs``."""

    storage_type: StorageType
    bucket: str = Field(pattern=BUCKET_PATTERN)
    path: str = Field(default="", pattern=PATH_PATTERN, description="A key prefix, e.g. 'directory_name/'")
    aws_s3: S3Request | None = None
    azure_blob: AzureRequest | None = None
    gcs_credentials: str | None = Field(default=None, min_length=2, max_length=16_384,
                                        description="The service account key file (JSON text)")
    gcs_custom_endpoint_url: AnyHttpUrl | None = Field(default=None, description="A GCS-compatible endpoint")


class CreateExternalStorageRequest(ExternalStorageFields):
    name: str = Field(pattern=STORAGE_NAME_PATTERN)


class UpdateExternalStorageRequest(ExternalStorageFields):
    """Replaces the configuration; credentials left out are kept when the storage type stays the same."""


class ExternalStorageResponse(BaseModel):
    """A storage as the API shows it: never its credentials."""

    name: str
    type: str
    bucket: str
    path: str


class CreateExternalStorageResponse(BaseModel):
    duration: str = ""


class UpdateExternalStorageResponse(ExternalStorageResponse):
    duration: str = ""


class ListExternalStorageResponse(BaseModel):
    external_storages: dict[str, ExternalStorageResponse]
    duration: str = ""


class CheckExternalStorageResponse(BaseModel):
    file_url: str = Field(description="A signed URL of the test file written (valid for an hour)")
    duration: str = ""
