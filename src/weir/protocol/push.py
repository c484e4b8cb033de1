"""JSON models of push devices and push provider configurations."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from weir.protocol.limits import USER_ID_PATTERN

PushProviderType = Literal["firebase", "apn"]
PROVIDER_NAME_PATTERN = r"^[A-Za-z0-9_\-.]{1,64}$"
# FCM registration tokens use these characters; APNs tokens are hexadecimal.
DEVICE_ID_PATTERN = r"^[A-Za-z0-9_\-:.]{1,512}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateDeviceRequest(Strict):
    id: str = Field(pattern=DEVICE_ID_PATTERN, description="The device's push token")
    push_provider: PushProviderType
    push_provider_name: str | None = Field(default=None, pattern=PROVIDER_NAME_PATTERN)
    user_id: str | None = Field(default=None, pattern=USER_ID_PATTERN,
                                description="Required with a server token; users add their own devices")
    voip_token: bool = Field(default=False, description="An Apple VoIP (PushKit) token; apn only")


class DeviceResponse(BaseModel):
    id: str
    user_id: str
    push_provider: str
    push_provider_name: str | None = None
    voip: bool = False
    disabled: bool = False
    disabled_reason: str | None = None
    created_at: datetime


class ListDevicesResponse(BaseModel):
    devices: list[DeviceResponse]
    duration: str = ""


class PushProviderRequest(Strict):
    """A provider to create, or changes to one: credentials left out keep their stored values."""

    name: str = Field(pattern=PROVIDER_NAME_PATTERN)
    type: PushProviderType
    enabled: bool | None = None
    firebase_credentials: str | None = Field(default=None, max_length=16_384,
                                             description="The service account key file (JSON text)")
    firebase_host: AnyHttpUrl | None = Field(default=None, description="Defaults to https://fcm.googleapis.com")
    apn_key: str | None = Field(default=None, max_length=4096, description="The .p8 auth key (PEM)")
    apn_key_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,32}$")
    apn_team_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,32}$")
    apn_topic: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-.]{1,255}$", description="The bundle id")
    apn_development: bool | None = Field(default=None, description="Use the APNs sandbox")
    apn_host: AnyHttpUrl | None = Field(default=None, description="Overrides the production/sandbox host; "
                                                                  "http:// speaks HTTP/2 without TLS (h2c)")


class UpsertPushProviderRequest(Strict):
    push_provider: PushProviderRequest


class PushProviderResponse(BaseModel):
    """A provider as the API shows it: secrets are masked."""

    name: str
    type: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    firebase_credentials: str | None = None
    firebase_project_id: str | None = None
    firebase_client_email: str | None = None
    firebase_host: str | None = None
    apn_key: str | None = None
    apn_key_id: str | None = None
    apn_team_id: str | None = None
    apn_topic: str | None = None
    apn_development: bool | None = None
    apn_host: str | None = None


class UpsertPushProviderResponse(BaseModel):
    push_provider: PushProviderResponse
    duration: str = ""


class ListPushProvidersResponse(BaseModel):
    push_providers: list[PushProviderResponse]
    duration: str = ""
