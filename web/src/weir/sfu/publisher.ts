// The publisher peer connection: this client's tracks to the SFU, camera video simulcast as the SFU's
// publish options say, mute states, and pausing the simulcast layers nobody receives.

import { CandidateQueue, toProtocol } from "./candidates";
import type { SignalChannel } from "./signal";
import type {
  ChangePublishQualityEvent,
  Layer,
  PublisherAnswerEvent,
  PublishOption,
  TrackInfo,
  TrackType,
} from "./protocol.gen";

export type PublishedType = Extract<TrackType, "audio" | "video" | "screen_share">;

const KIND: Record<PublishedType, "audio" | "video"> = { audio: "audio", video: "video", screen_share: "video" };

export class Publisher {
  readonly pc: RTCPeerConnection;
  readonly candidates: CandidateQueue;
  private transceivers = new Map<PublishedType, RTCRtpTransceiver>();
  private muted = new Map<PublishedType, boolean>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly signal: SignalChannel,
    private readonly options: PublishOption[],
    config: RTCConfiguration,
  ) {
    this.pc = new RTCPeerConnection(config);
    this.candidates = new CandidateQueue(this.pc);
    this.pc.onicecandidate = ({ candidate }) =>
      this.signal.send({ type: "ice_trickle", target: "publisher", candidate: toProtocol(candidate) });
  }

  /** One negotiation at a time, in order. */
  private serial(work: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(work, work);
    return this.chain;
  }

  private option(type: PublishedType): PublishOption | undefined {
    return this.options.find((o) => o.track_type === type);
  }

  /** Send `track` as `type` (null stops sending and mutes it); a new track type renegotiates. */
  publish(type: PublishedType, track: MediaStreamTrack | null, muted: boolean): Promise<void> {
    return this.serial(async () => {
      let transceiver = this.transceivers.get(type);
      const isNew = transceiver === undefined;
      if (!transceiver) {
        if (!track) return; // nothing to announce yet
        transceiver = this.pc.addTransceiver(track, { direction: "sendonly", sendEncodings: this.encodings(type) });
        this.transceivers.set(type, transceiver);
      } else if (transceiver.sender.track !== track) {
        await transceiver.sender.replaceTrack(track);
      }
      const wasMuted = this.muted.get(type);
      this.muted.set(type, muted || !track);
      if (isNew) await this.negotiate(false);
      else if (wasMuted !== this.muted.get(type)) {
        this.signal.send({ type: "update_mute_states", mute_states: [{ track_type: type, muted: muted || !track }] });
      }
    });
  }

  /** A fresh offer (after an ICE restart, or a fast reconnect). */
  restartIce(): Promise<void> {
    return this.serial(() => (this.transceivers.size ? this.negotiate(true) : Promise.resolve()));
  }

  private encodings(type: PublishedType): RTCRtpEncodingParameters[] {
    const option = this.option(type);
    if (!option) return [{}];
    if (KIND[type] === "audio" || option.layers.length < 2) return [{ maxBitrate: option.max_bitrate }];
    return option.layers.map((layer) => ({
      rid: layer.rid,
      scaleResolutionDownBy: layer.scale_resolution_down_by,
      maxBitrate: layer.max_bitrate,
    }));
  }

  private layers(type: PublishedType, transceiver: RTCRtpTransceiver): Layer[] {
    const option = this.option(type);
    if (!option || KIND[type] === "audio" || option.layers.length < 2) return [];
    const settings = transceiver.sender.track?.getSettings();
    const width = settings?.width ?? option.width;
    const height = settings?.height ?? option.height;
    return option.layers.map((layer) => ({
      rid: layer.rid,
      width: Math.round(width / layer.scale_resolution_down_by),
      height: Math.round(height / layer.scale_resolution_down_by),
      bitrate: layer.max_bitrate,
    }));
  }

  private async negotiate(iceRestart: boolean): Promise<void> {
    const offer = await this.pc.createOffer({ iceRestart });
    await this.pc.setLocalDescription(offer);
    const tracks: TrackInfo[] = [];
    for (const [type, transceiver] of this.transceivers) {
      tracks.push({
        track_type: type,
        mid: transceiver.mid ?? "",
        layers: this.layers(type, transceiver),
        codec: this.option(type)?.codec ?? "",
        muted: this.muted.get(type) ?? true,
      });
    }
    const id = this.signal.send({ type: "set_publisher", sdp: offer.sdp ?? "", tracks });
    const answer = await this.signal.next<PublisherAnswerEvent>("publisher_answer", id);
    await this.pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    this.candidates.flush();
  }

  /** The SFU pauses layers no subscriber needs (and resumes them). */
  async changeQuality(event: ChangePublishQualityEvent): Promise<void> {
    for (const sender of event.video_senders) {
      const transceiver = this.transceivers.get(sender.track_type as PublishedType);
      if (!transceiver) continue;
      const parameters = transceiver.sender.getParameters();
      for (const encoding of parameters.encodings) {
        const state = sender.layers.find((l) => l.rid === encoding.rid);
        if (state) encoding.active = state.active;
      }
      await transceiver.sender.setParameters(parameters).catch(() => undefined);
    }
  }

  close(): void {
    this.pc.close();
  }
}
