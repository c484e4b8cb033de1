"""``weir storage list|create|update|delete|check``: external storages (S3, GCS, Azure Blob) for recordings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from weir.cli.remote import JSONObject, connection, json_option, print_json, print_table, session
from weir.server.storage import StorageType

app = typer.Typer(help="External storages for recordings: S3, Google Cloud Storage, Azure Blob.",
                  no_args_is_help=True, callback=connection)

Name = Annotated[str, typer.Argument(help="The storage's name.")]


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the external storages (never their credentials)."""
    with session(ctx) as client:
        storages = client.list_external_storage().data.external_storages
    print_table("External storages", ["Name", "Type", "Bucket", "Path"],
                [[s.name, s.type, s.bucket, s.path] for s in storages.values()])


def _save(update: bool, doc: str) -> Callable[..., None]:
    """``create`` and ``update`` take the same options and differ only in the operation."""

    def command(
        ctx: typer.Context, name: Name,
        storage_type: Annotated[StorageType, typer.Option("--type", help="s3, gcs or abs (Azure Blob).")],
        bucket: Annotated[str, typer.Option(help="The bucket (for abs: the container).")],
        path: Annotated[str | None, typer.Option(help="A key prefix, e.g. recordings/.")] = None,
        aws_s3: Annotated[JSONObject, json_option('S3 settings, e.g. \'{"s3_region": "eu-west-1", "s3_api_key": '
                                                  '"...", "s3_secret": "..."}\'', "--aws-s3")] = None,
        azure_blob: Annotated[JSONObject, json_option("Azure settings (abs_account_name, and abs_tenant_id, "
                                                      "abs_client_id, abs_client_secret or abs_account_key).",
                                                      "--azure-blob")] = None,
        gcs_credentials: Annotated[Path | None, typer.Option(
            help="The GCS service account key file.", exists=True, dir_okay=False)] = None,
        gcs_endpoint: Annotated[str | None, typer.Option(help="A GCS-compatible endpoint URL.")] = None,
    ) -> None:
        credentials = gcs_credentials.read_text() if gcs_credentials else None
        with session(ctx) as client:
            if update:
                answer = client.update_external_storage(name, bucket, storage_type, credentials, path, aws_s3,
                                                        azure_blob, gcs_endpoint)
            else:
                answer = client.create_external_storage(bucket, name, storage_type, credentials, path, aws_s3,
                                                        azure_blob, gcs_endpoint)
            print_json(answer.data)

    command.__doc__ = doc
    return command


app.command("create")(_save(False, "Create an external storage (at most 10)."))
app.command("update")(_save(True, "Replace a storage's settings; credentials left out are kept for the same type."))


@app.command()
def delete(ctx: typer.Context, name: Name) -> None:
    """Delete an external storage."""
    with session(ctx) as client:
        print_json(client.delete_external_storage(name).data)


@app.command()
def check(ctx: typer.Context, name: Name) -> None:
    """Write a test file to the storage and print its signed URL; exits 1 with the reason if it fails."""
    with session(ctx) as client:
        print_json(client.check_external_storage(name).data)
