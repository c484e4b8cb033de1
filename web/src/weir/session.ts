// An active call: the coordinator's Call, this device's media, and (when the SFU is there) the media connection.

import type { Call } from "./call";
import { listDevices, type LocalMedia, type LocalMediaView } from "./media";
import type { Participant } from "./participants";
import type { JoinResponse } from "./types";

export type TrackKind = "video" | "screen_share";

/** A tile on screen: which track it shows and at what size (what the SFU subscription asks for). */
export interface TileSize {
  sessionId: string;
  kind: TrackKind;
  width: number;
  height: number;
}

export interface JoinOptions {
  create?: boolean;
  ring?: boolean;
  video?: boolean;
}

export class CallSession {
  private stops: Array<() => void> = [];
  readonly tiles = new Map<string, TileSize>();
  onTilesChanged: () => void = () => {};

  constructor(
    readonly call: Call,
    readonly media: LocalMedia,
  ) {
    call.onMuted = (tracks) => this.mutedRemotely(tracks);
    call.onRemoved = () => this.stopMedia();
    const onPageHide = () => void call.leave(true);
    window.addEventListener("pagehide", onPageHide);
    this.stops.push(
      () => window.removeEventListener("pagehide", onPageHide),
      media.state.subscribe((view) => this.showLocal(view)),
      call.state.subscribe(() => this.showLocal(media.view)),
    );
  }

  async join(options: JoinOptions = {}): Promise<JoinResponse> {
    const joined = await this.call.join(options);
    if (!this.call.can("send-audio") && this.media.view.mic) await this.media.setMic(false);
    if (!this.call.can("send-video") && this.media.view.camera) await this.media.setCamera(false);
    this.showLocal(this.media.view);
    return joined;
  }

  async toggleMic(): Promise<void> {
    await this.media.setMic(!this.media.view.mic);
  }

  async toggleCamera(): Promise<void> {
    await this.media.setCamera(!this.media.view.camera);
  }

  /** The next camera (front/back on phones, the next device elsewhere). */
  async switchCamera(): Promise<void> {
    const { cameras } = await listDevices();
    const at = cameras.findIndex((c) => c.deviceId === this.media.view.cameraDeviceId);
    const next = cameras[(at + 1) % cameras.length];
    if (next) await this.media.setCamera(true, next.deviceId);
  }

  async toggleScreenShare(): Promise<void> {
    await this.media.setScreenShare(!this.media.view.screen);
  }

  async leave(): Promise<void> {
    this.stopMedia();
    await this.call.leave();
  }

  /** Tiles report their rendered size; a stable function so components can depend on it. */
  readonly reportTile = (p: Participant, kind: TrackKind, size: { width: number; height: number } | null): void => {
    if (p.isLocal) return;
    const key = `${p.sessionId}:${kind}`;
    const old = this.tiles.get(key);
    if (size === null) {
      if (!this.tiles.delete(key)) return;
    } else {
      if (old && old.width === size.width && old.height === size.height) return;
      this.tiles.set(key, { sessionId: p.sessionId, kind, ...size });
    }
    this.onTilesChanged();
  };

  /** The local tile shows this device's own media state. */
  private showLocal(view: LocalMediaView): void {
    const local = this.call.view.participants.find((p) => p.isLocal);
    if (!local) return;
    const same =
      local.audio === view.mic &&
      local.video === view.camera &&
      local.screenShare === view.screen &&
      local.videoStream === view.cameraStream &&
      local.screenStream === view.screenStream;
    if (same) return;
    this.call.updateParticipants((p) =>
      p.isLocal
        ? {
            ...p,
            audio: view.mic,
            video: view.camera,
            screenShare: view.screen,
            videoStream: view.cameraStream,
            screenStream: view.screenStream,
          }
        : p,
    );
  }

  private mutedRemotely(tracks: string[]): void {
    if (tracks.includes("audio")) void this.media.setMic(false);
    if (tracks.includes("video")) void this.media.setCamera(false);
    if (tracks.includes("screenshare")) void this.media.setScreenShare(false);
  }

  private stopMedia(): void {
    void this.media.setScreenShare(false);
  }

  dispose(): void {
    for (const stop of this.stops) stop();
    this.call.dispose();
  }
}
