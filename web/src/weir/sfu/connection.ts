// One participant session on the SFU: join over signaling, the publisher and subscriber peer connections,
// the participants' media state, subscriptions, stats, and fast reconnection (ICE restart on a new socket).
// Rejoin and migrate need a new coordinator join: they are the CallSession's (onReconnect).

import { Store } from "../store";
import type {
  ChangePublishQualityEvent,
  ClientCapability,
  IceTrickleEvent,
  JoinResponseEvent,
  Participant as SfuParticipant,
  ReconnectDetails,
  SfuEvent,
  TrackSubscription,
  TrackType,
} from "./protocol.gen";
import { Publisher, type PublishedType } from "./publisher";
import { SignalChannel } from "./signal";
import { Subscriber } from "./subscriber";

export interface SfuCredentials {
  server: { url: string; edge_name: string };
  token: string;
  ice_servers: Array<{ urls: string[]; username?: string; password?: string }>;
}

export type Strategy = "fast" | "rejoin" | "migrate" | "disconnect";
export type SfuStatus = "connecting" | "connected" | "reconnecting" | "closed";

export interface MediaView {
  participants: Map<string, SfuParticipant>;
  /** Remote tracks by `${sessionId}:${trackType}`. */
  streams: Map<string, MediaStream>;
}

const CAPABILITIES: ClientCapability[] = ["subscriber_video_pause"];
const SUBSCRIPTION_DEBOUNCE_MS = 100;
const MAX_FAST_ATTEMPTS = 3;

export class SfuConnection {
  readonly media = new Store<MediaView>({ participants: new Map(), streams: new Map() });
  readonly status = new Store<SfuStatus>("connecting");
  ownCapabilities: string[] = [];
  /** A reconnect this connection cannot do itself (rejoin, migrate) or the end of media (disconnect). */
  onReconnect: (strategy: Strategy, reason: string) => void = () => {};
  onCapabilities: (capabilities: string[]) => void = () => {};
  private readonly signal = new SignalChannel();
  private publisher: Publisher | null = null;
  private subscriber: Subscriber | null = null;
  private closing = false;
  private subscriptions: TrackSubscription[] = [];
  private subscriptionTimer = 0;
  private statsTimer = 0;
  private deadlineMs = 0;
  private pending: IceTrickleEvent[] = [];

  constructor(
    readonly credentials: SfuCredentials,
    readonly sessionId: string,
    private readonly statsIntervalMs: number,
    private readonly reconnect: ReconnectDetails | null = null,
  ) {
    this.signal.events.on("*", (event) => this.handle(event));
    this.signal.onLost = (reason) => void this.fastReconnect(reason);
  }

  private get rtcConfig(): RTCConfiguration {
    const iceServers = this.credentials.ice_servers.map((s) => ({
      urls: s.urls,
      username: s.username,
      credential: s.password,
    }));
    return { iceServers, bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" };
  }

  async connect(): Promise<void> {
    const response = await this.join(this.reconnect);
    const config = this.rtcConfig;
    this.publisher = new Publisher(this.signal, response.publish_options, config);
    this.subscriber = new Subscriber(this.signal, config);
    this.subscriber.onTrack = (sessionId, trackType, track) => this.addTrack(sessionId, trackType, track);
    for (const pc of [this.publisher.pc, this.subscriber.pc]) {
      pc.addEventListener("connectionstatechange", () => {
        if (pc.connectionState === "failed") void this.restartIce();
      });
    }
    for (const event of this.pending.splice(0)) this.addCandidate(event);
    this.statsTimer = window.setInterval(() => void this.sendStats(), this.statsIntervalMs);
    this.status.set("connected");
  }

  private async join(reconnect: ReconnectDetails | null): Promise<JoinResponseEvent> {
    await this.signal.open(this.credentials.server.url);
    const id = this.signal.send({
      type: "join",
      token: this.credentials.token,
      session_id: this.sessionId,
      capabilities: CAPABILITIES,
      client_details: { sdk: "weir-web", sdk_version: "0.1.0", browser: navigator.userAgent.slice(0, 128) },
      reconnect_details: reconnect,
    });
    const response = await this.signal.next<JoinResponseEvent>("join_response", id);
    this.deadlineMs = response.fast_reconnect_deadline_seconds * 1000;
    this.ownCapabilities = response.own_capabilities;
    const participants = new Map(response.call_state.participants.map((p) => [p.session_id, p]));
    this.media.update((m) => ({ ...m, participants }));
    return response;
  }

  publish(type: PublishedType, track: MediaStreamTrack | null, muted: boolean): Promise<void> {
    return this.publisher?.publish(type, track, muted) ?? Promise.resolve();
  }

  /** The complete set of tracks to receive; sent (debounced) when it changes. */
  subscribe(tracks: TrackSubscription[]): void {
    if (JSON.stringify(tracks) === JSON.stringify(this.subscriptions)) return;
    this.subscriptions = tracks;
    window.clearTimeout(this.subscriptionTimer);
    this.subscriptionTimer = window.setTimeout(() => this.sendSubscriptions(), SUBSCRIPTION_DEBOUNCE_MS);
  }

  private sendSubscriptions(): void {
    this.signal.send({ type: "update_subscriptions", tracks: this.subscriptions });
  }

  private updateParticipant(participant: SfuParticipant): void {
    this.media.update((m) => ({
      ...m,
      participants: new Map(m.participants).set(participant.session_id, participant),
    }));
  }

  private changeParticipants(change: (p: SfuParticipant) => SfuParticipant): void {
    this.media.update((m) => ({
      ...m,
      participants: new Map([...m.participants].map(([id, p]) => [id, change(p)])),
    }));
  }

  private addTrack(sessionId: string, trackType: TrackType, track: MediaStreamTrack): void {
    const key = `${sessionId}:${trackType}`;
    this.media.update((m) => ({ ...m, streams: new Map(m.streams).set(key, new MediaStream([track])) }));
  }

  private handle(event: SfuEvent): void {
    switch (event.type) {
      case "subscriber_offer":
        void this.subscriber?.answer(event.sdp, event.negotiation_id);
        break;
      case "ice_trickle":
        if (this.publisher) this.addCandidate(event);
        else this.pending.push(event);
        break;
      case "participant_joined":
      case "participant_updated":
      case "track_published":
      case "track_unpublished":
        this.updateParticipant(event.participant);
        break;
      case "participant_left": {
        const gone = event.participant.session_id;
        this.media.update((m) => {
          const participants = new Map(m.participants);
          participants.delete(gone);
          const streams = new Map([...m.streams].filter(([key]) => !key.startsWith(`${gone}:`)));
          return { participants, streams };
        });
        break;
      }
      case "audio_level_changed": {
        const levels = new Map(event.audio_levels.map((l) => [l.session_id, l]));
        this.changeParticipants((p) => {
          const level = levels.get(p.session_id);
          return level ? { ...p, audio_level: level.level, is_speaking: level.is_speaking } : p;
        });
        break;
      }
      case "dominant_speaker_changed":
        this.changeParticipants((p) => ({ ...p, is_dominant_speaker: p.session_id === event.session_id }));
        break;
      case "connection_quality_changed": {
        const updates = new Map(event.updates.map((u) => [u.session_id, u.connection_quality]));
        this.changeParticipants((p) => ({
          ...p,
          connection_quality: updates.get(p.session_id) ?? p.connection_quality,
        }));
        break;
      }
      case "pins_updated": {
        const pins = new Map(event.pins.map((pin) => [pin.session_id, pin]));
        this.changeParticipants((p) => ({ ...p, pin: pins.get(p.session_id) ?? null }));
        break;
      }
      case "change_publish_quality":
        void this.publisher?.changeQuality(event as ChangePublishQualityEvent);
        break;
      case "call_grants_updated":
        this.ownCapabilities = event.own_capabilities;
        this.onCapabilities(event.own_capabilities);
        break;
      case "go_away":
        this.onReconnect("migrate", event.reason);
        break;
      case "call_ended":
        this.onReconnect("disconnect", "ended");
        break;
      case "error":
        if (event.reconnect_strategy === "fast") void this.fastReconnect(event.error.message);
        else if (event.reconnect_strategy !== "unspecified")
          this.onReconnect(event.reconnect_strategy, event.error.code);
        break;
    }
  }

  private addCandidate(event: IceTrickleEvent): void {
    const side = event.target === "publisher" ? this.publisher : this.subscriber;
    if (event.candidate) side?.candidates.add(event.candidate);
  }

  private async restartIce(): Promise<void> {
    if (this.closing) return;
    this.signal.send({ type: "ice_restart", target: "subscriber" });
    await this.publisher?.restartIce().catch(() => undefined);
  }

  /** A lost socket: join again on a new one with strategy "fast", then restart ICE; else ask for a rejoin. */
  private async fastReconnect(reason: string): Promise<void> {
    if (this.closing || this.status.get() !== "connected") return;
    this.status.set("reconnecting");
    const started = Date.now();
    for (let attempt = 1; attempt <= MAX_FAST_ATTEMPTS && Date.now() - started < this.deadlineMs; attempt++) {
      if (this.closing) return; // a rejoin replaced this connection
      try {
        this.signal.close();
        await this.join({ strategy: "fast", attempt });
        this.sendSubscriptions();
        this.status.set("connected");
        await this.restartIce();
        return;
      } catch {
        await new Promise((resolve) => window.setTimeout(resolve, 250 * attempt));
      }
    }
    if (!this.closing) this.onReconnect("rejoin", reason);
  }

  private async sendStats(): Promise<void> {
    if (!this.publisher || !this.subscriber) return;
    this.signal.send({
      type: "send_stats",
      publisher: await summarize(this.publisher.pc, "outbound-rtp"),
      subscriber: await summarize(this.subscriber.pc, "inbound-rtp"),
    });
  }

  /** Leave the SFU session (and close both peer connections). */
  leave(reason = ""): void {
    if (!this.closing) this.signal.send({ type: "leave", reason });
    this.close();
  }

  close(): void {
    this.closing = true;
    window.clearTimeout(this.subscriptionTimer);
    window.clearInterval(this.statsTimer);
    this.signal.close();
    this.publisher?.close();
    this.subscriber?.close();
    this.status.set("closed");
  }
}

const STAT_FIELDS = [
  "bytesSent",
  "bytesReceived",
  "packetsSent",
  "packetsReceived",
  "packetsLost",
  "framesEncoded",
  "framesDecoded",
  "jitter",
  "totalEncodeTime",
  "totalDecodeTime",
  "concealedSamples",
  "totalSamplesReceived",
];

/** Per-RTP-stream counters, flattened to at most 200 keys ("<kind>.<rid|mid>.<field>"). */
async function summarize(pc: RTCPeerConnection, type: string): Promise<Record<string, number>> {
  const summary: Record<string, number> = {};
  const report = await pc.getStats().catch(() => new Map());
  for (const stat of report.values()) {
    if (stat.type !== type) continue;
    const name = `${stat.kind}.${stat.rid ?? stat.mid ?? stat.ssrc}`;
    for (const field of STAT_FIELDS) {
      if (typeof stat[field] === "number" && Object.keys(summary).length < 200)
        summary[`${name}.${field}`] = stat[field];
    }
  }
  return summary;
}
