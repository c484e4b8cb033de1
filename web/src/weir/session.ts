// An active call: the coordinator's Call, this device's media, and the SFU connection that carries it.

import { backoffMs } from "./backoff";
import type { Call } from "./call";
import { listDevices, type LocalMedia, type LocalMediaView } from "./media";
import { applyOnJoin, followCall } from "./noise/policy";
import type { Participant } from "./participants";
import { subscriptions, withMedia, type Tile } from "./sfu/bridge";
import { SfuConnection, type Strategy } from "./sfu/connection";
import type { ReconnectDetails } from "./sfu/protocol.gen";
import { Store } from "./store";
import type { JoinResponse } from "./types";

export type TrackKind = Tile["kind"];

export interface JoinOptions {
  create?: boolean;
  ring?: boolean;
  video?: boolean;
}

const DEFAULT_STATS_MS = 10_000;

/** SFU disconnects that the coordinator also announces (call.ended, call.kicked_user, call.blocked_user). */
const COORDINATOR_ENDS = ["ended", "removed_from_call"];

export class CallSession {
  /** The SFU connection's state ("closed" until the call is joined). */
  readonly mediaStatus = new Store<string>("closed");
  /** The call ended for this user (ended, kicked, blocked, media disconnected). */
  onEnded: (reason: string) => void = () => {};
  private readonly tiles = new Map<string, Tile>();
  private stops: Array<() => void> = [];
  private sfu: SfuConnection | null = null;
  private sfuStops: Array<() => void> = [];
  private disposed = false;

  constructor(
    readonly call: Call,
    readonly media: LocalMedia,
  ) {
    call.onMuted = (tracks) => this.mutedRemotely(tracks);
    call.onSessionLost = (reason) => {
      if (this.sfu) void this.reconnect(this.sfu, "rejoin", reason);
    };
    call.onRemoved = (reason) => {
      this.closeMedia();
      this.onEnded(reason);
    };
    const onPageHide = () => {
      this.sfu?.leave("page closed");
      void call.leave(true);
    };
    window.addEventListener("pagehide", onPageHide);
    this.stops.push(
      () => window.removeEventListener("pagehide", onPageHide),
      media.state.subscribe((view) => {
        this.showLocal(view);
        void this.publish(view);
      }),
      call.state.subscribe(() => {
        this.showLocal(media.view);
        this.showRemote();
        if (this.inCall()) followCall(call.view, media);
      }),
    );
  }

  async join(options: JoinOptions = {}): Promise<JoinResponse> {
    const joined = await this.call.join(options);
    if (!this.call.can("send-audio") && this.media.view.mic) await this.media.setMic(false);
    if (!this.call.can("send-video") && this.media.view.camera) await this.media.setCamera(false);
    await applyOnJoin(this.call.view, this.media);
    this.showLocal(this.media.view);
    await this.connectMedia(joined, null);
    return joined;
  }

  private async connectMedia(joined: JoinResponse, reconnect: ReconnectDetails | null): Promise<void> {
    const credentials = joined.credentials;
    if (!credentials) return;
    const interval = joined.stats_options?.reporting_interval_ms ?? DEFAULT_STATS_MS;
    const sfu = new SfuConnection(credentials, joined.user_session_id, interval, reconnect);
    this.sfu = sfu;
    sfu.onReconnect = (strategy, reason) => void this.reconnect(sfu, strategy, reason);
    sfu.onCapabilities = () => void this.publish(this.media.view);
    this.sfuStops = [
      sfu.status.subscribe((status) => this.mediaStatus.set(status)),
      sfu.media.subscribe(() => {
        this.showRemote();
        this.subscribe();
      }),
    ];
    await sfu.connect();
    await this.publish(this.media.view);
    this.subscribe();
  }

  /**
   * Rejoin or migrate: a new coordinator join (a new session), then an SFU join that replaces the old one; tried
   * again after `backoffMs` until it works or the call is left (a restarted SFU worker or coordinator).
   */
  private async reconnect(from: SfuConnection, strategy: Strategy, reason: string): Promise<void> {
    if (this.sfu !== from) return;
    this.closeMedia();
    if (strategy === "disconnect") {
      // Ended, kicked or blocked: the coordinator's event says so (and ends the call screen); anything else
      // (an invalid token, this session taken over elsewhere) ends it here.
      if (!COORDINATOR_ENDS.includes(reason)) this.onEnded("timeout");
      return;
    }
    const previous = from.sessionId;
    const edge = from.credentials.server.edge_name;
    for (let attempt = 1; this.inCall(); attempt++) {
      this.mediaStatus.set("reconnecting");
      try {
        const joined = await this.call.rejoin(strategy === "migrate" ? edge : undefined);
        if (!this.inCall()) return;
        await this.connectMedia(joined, { strategy, previous_session_id: previous, from_edge: edge });
        return;
      } catch {
        this.closeMedia();
        await new Promise((resolve) => window.setTimeout(resolve, backoffMs(attempt)));
      }
    }
  }

  private inCall(): boolean {
    return !this.disposed && this.call.view.status === "joined";
  }

  /** What this device sends, as far as the call's capabilities allow. */
  private async publish(view: LocalMediaView): Promise<void> {
    const sfu = this.sfu;
    if (!sfu || sfu.status.get() !== "connected") return;
    const allowed = (capability: string) => this.call.can(capability) || sfu.ownCapabilities.includes(capability);
    const microphone = view.noiseStream ?? view.micStream;
    const mic = allowed("send-audio") ? (microphone?.getAudioTracks()[0] ?? null) : null;
    const camera = allowed("send-video") ? (view.cameraStream?.getVideoTracks()[0] ?? null) : null;
    const screen = allowed("screenshare") ? (view.screenStream?.getVideoTracks()[0] ?? null) : null;
    await sfu.publish("audio", mic, !view.mic);
    await sfu.publish("video", camera, !view.camera);
    await sfu.publish("screen_share", screen, !view.screen);
  }

  private subscribe(): void {
    const sfu = this.sfu;
    if (sfu)
      sfu.subscribe(subscriptions(sfu.media.get(), this.tiles.values(), sfu.sessionId, window.devicePixelRatio || 1));
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
    this.subscribe();
  };

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
    this.sfu?.leave("left");
    this.closeMedia();
    await this.call.leave();
  }

  /** Remote participants take their media state and streams from the SFU. */
  private showRemote(): void {
    const sfu = this.sfu;
    if (!sfu) return;
    const media = sfu.media.get();
    const current = this.call.view.participants;
    const next = current.map((p) => withMedia(p, media));
    if (next.some((p, i) => !sameMedia(p, current[i]))) this.call.updateParticipants((p) => withMedia(p, media));
  }

  /** The local tile shows this device's own media state. */
  private showLocal(view: LocalMediaView): void {
    const local = this.call.view.participants.find((p) => p.isLocal);
    if (!local) return;
    const mine = {
      audio: view.mic,
      video: view.camera,
      screenShare: view.screen,
      videoStream: view.cameraStream,
      screenStream: view.screenStream,
    };
    if (Object.entries(mine).every(([key, value]) => local[key as keyof Participant] === value)) return;
    this.call.updateParticipants((p) => (p.isLocal ? { ...p, ...mine } : p));
  }

  private mutedRemotely(tracks: string[]): void {
    if (tracks.includes("audio")) void this.media.setMic(false);
    if (tracks.includes("video")) void this.media.setCamera(false);
    if (tracks.includes("screenshare")) void this.media.setScreenShare(false);
  }

  private closeMedia(): void {
    for (const stop of this.sfuStops) stop();
    this.sfuStops = [];
    this.sfu?.close();
    this.sfu = null;
    this.mediaStatus.set("closed");
    void this.media.setScreenShare(false);
  }

  dispose(): void {
    this.disposed = true;
    this.closeMedia();
    for (const stop of this.stops) stop();
    this.call.dispose();
  }
}

const MEDIA_FIELDS: Array<keyof Participant> = [
  "audio",
  "video",
  "screenShare",
  "speaking",
  "dominantSpeaker",
  "audioLevel",
  "quality",
  "pinnedForEveryone",
  "audioStream",
  "videoStream",
  "screenStream",
];

function sameMedia(a: Participant, b: Participant): boolean {
  return MEDIA_FIELDS.every((field) => a[field] === b[field]);
}
